#!/usr/bin/env bash
# What the tests need on this machine, set up if it is missing (idempotent, silent when all is
# there). The test command runs it first (tests/conftest.py), so the README's test line passes on
# a machine that has never seen kefu:
# - PostgreSQL on 127.0.0.1:5432, trust auth, a database `test` (the store tests, both backends);
# - Debian's Chromium (the dashboard tests drive it with Playwright; no browser downloads here).
set -uo pipefail

say() { printf 'tests/prepare.sh: %s\n' "$*" >&2; }

if ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start 2>/dev/null \
            || say "could not start the local PostgreSQL cluster"
        for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
    else
        say "no PostgreSQL on 127.0.0.1:5432 and none installed (apt-get install -y postgresql)"
    fi
fi
if pg_isready -q -h 127.0.0.1 2>/dev/null \
        && ! psql -h 127.0.0.1 -U postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null | grep -q 1; then
    createdb -h 127.0.0.1 -U postgres test || say "could not create the database test"
fi

if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Debian's chromium for the dashboard tests (once)"
        apt-get install -y -q chromium >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
            || say "could not install chromium: apt-get install -y chromium"
    else
        say "no chromium: the dashboard tests need Debian's (sudo apt-get install -y chromium)"
    fi
fi
# The reports' charts label in Chinese with a CJK font (without one they label in English only).
if ! fc-list 2>/dev/null | grep -qi -e "WenQuanYi" -e "Noto Sans CJK"; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1; } \
            || say "could not install a CJK font: apt-get install -y fonts-wqy-microhei"
    fi
fi
exit 0
