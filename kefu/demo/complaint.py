"""The day's complaints 投诉 and consultations 咨询: twelve contacts worked on side by side, the
way a team does it — agents judge, investigate and propose; supervisors, the manager and the
director approve and review; customers accept or reject plans — then three stalled ones while
the business clock runs ahead, so the escalation ladder climbs.

Branches covered: not upheld (2), upheld and accepted (4, four departments), plan rejected
then accepted (2), major (1), crisis (1; both reported upward at intake, and an agent's
approval is refused by the rules), a consultation and a query (answered and closed).
Some English texts use real "Product"/"Issue" values of the CFPB consumer complaint data
(2014). Re-running adds another twelve cases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from kefu import processes, runtime
from kefu.core import casework, clock
from kefu.core.refusals import InputRefused
from kefu.core.texts import run_page
from kefu.demo.staff import signed_in
from kefu.escalation import mail, sweep
from kefu.executor import orchestration, prefect_env, service
from kefu.settings import get_settings
from models.case import CaseState
from models.complaint import HUMAN_STEPS, ContactRegistration, Step, complaint_of

if TYPE_CHECKING:
    from kefu.demo.day import Executor

# How long the contacts may take before the demo gives up waiting and reports what is stuck.
DAY_LIMIT_S = 900.0
POLL_S = 0.5
MAX_OPEN_AT_ONCE = 7  # contacts being worked on at the same moment


@dataclass
class Act:
    step: str
    data: dict[str, Any]
    refused: bool = False  # the demo expects kefu to refuse this one
    note: str = ""


@dataclass
class Script:
    branch: str  # what the demo shows with this case (checked by tests/demo/test_day.py)
    contact: dict[str, Any]
    acts: list[Act]
    expect: tuple[str, str | None]  # (kind, severity) the intake should arrive at
    case_id: str | None = None
    done: int = 0  # acts performed
    refusals: list[dict[str, Any]] = field(default_factory=list)
    waited_since: float = 0.0
    failures: int = 0  # flow runs of this case that failed (then restarted by `kefu case sync`)
    announced: bool = False  # the upward report of a major/crisis case was shown


def _complaint(judge: tuple[str, bool, str | None, str], investigate: tuple[str, str, str] | None = None,
               rounds: list[tuple[str, list[str], str, int, tuple[str, bool, str | None, str]]] | None = None,
               review: tuple[str, str, list[str]] | None = None, refused_approver: str | None = None) -> list[Act]:
    """A complaint's acts: judgement, investigation, proposal/approval/implementation rounds, review."""
    by, upheld, department, reason = judge
    acts = [Act(Step.JUDGEMENT, {"upheld": upheld, "department": department, "reason": reason, "by": by})]
    if not upheld:
        return acts
    assert investigate and rounds and review
    acts.append(Act(Step.INVESTIGATION, {"cause": investigate[1], "responsible": investigate[2], "by": investigate[0]}))
    for i, (proposer, options, approver, choice, (agent, accepted, signature, feedback)) in enumerate(rounds):
        acts.append(Act(Step.PROPOSAL, {"options": options, "by": proposer}))
        if refused_approver and i == 0:
            acts.append(Act(Step.APPROVAL, {"choice": choice, "by": refused_approver}, refused=True,
                            note="an agent tries to approve"))
        acts.append(Act(Step.APPROVAL, {"choice": choice, "by": approver}))
        acts.append(Act(Step.IMPLEMENTATION, {"accepted": accepted, "signature": signature,
                                              "feedback": feedback, "by": agent}))
    acts.append(Act(Step.REVIEW, {"summary": review[1], "improvements": review[2], "by": review[0]}))
    return acts


def scripts() -> list[Script]:
    """The day's twelve contacts, in the order they arrive."""
    return [
        Script("upheld_accepted", {
            "name": "王秀英", "phone": "138 0571 2231", "channel": "chat", "member": True, "order_ref": "TB-20261120-88412",
            "content": "买的羽绒服尺码发错了，下单L码收到的是S码，孩子穿不上，周末就要出门。"},
            _complaint(("li.na", True, "sales", "仓库拣货单与订单一致，但商品吊牌为S码：发货错码属实"),
                       ("li.na", "商品上架时L码与S码SKU条码贴反，拣货按条码出库", "销售部 商品运营 钱敏"),
                       [("li.na", ["免费换L码，顺丰次日达，退回运费由我方承担", "全额退款，商品无需寄回"], "chen.jing", 1,
                         ("li.na", True, "王秀英", "换货很快，满意"))],
                       ("chen.jing", "错码因条码贴反导致，已当日换货，客户满意", ["上架时双人核对SKU条码", "同款同批次库存全部复检"])),
            ("complaint", "general")),
        Script("not_upheld", {
            "name": "陈志强", "phone": "139 1062 7745", "channel": "phone", "order_ref": "JD-20261118-30127",
            "content": "快递显示已签收，但我根本没收到包裹，你们是不是根本没发货？"},
            _complaint(("wang.fang", False, None,
                        "物流轨迹显示11月21日14:05由本人在小区丰巢柜取件，取件码发至尾号7745手机；已将取件记录截图发给客户")),
            ("complaint", "general")),
        Script("upheld_accepted", {
            "name": "刘婷", "phone": "186 2135 0918", "channel": "web", "order_ref": "PDD-20261115-55230",
            "content": "承诺48小时发货，结果一个星期才到，生日礼物都错过了。"},
            _complaint(("zhang.wei", True, "logistics", "承诺48小时发货，实际第6天才揽收：延误属实"),
                       ("zhang.wei", "双十一后仓库积压，该订单漏排进发货波次", "物流部 仓储主管 郑涛"),
                       [("zhang.wei", ["补偿20元无门槛券并致歉", "退还运费并补偿10元"], "zhao.lei", 1,
                         ("zhang.wei", True, "刘婷", "接受，希望下次准时"))],
                       ("zhao.lei", "大促后积压导致漏排，已补偿并道歉", ["大促期间每日核对未揽收订单", "超过承诺时效自动提醒客服"])),
            ("complaint", "general")),
        Script("consultation", {
            "name": "Emily Carter", "phone": "+1 415 555 0142", "channel": "email", "email": "emily.carter@example.com",
            "content": "Can I change the delivery address after the order has shipped? 请问已发货的订单能改地址吗？"},
            [Act(Step.ANSWER, {"answer": "已发货订单可联系快递改派：请在物流详情页点“修改地址”，或回复本邮件告知新地址，我们代为申请。"
                                         " Shipped orders can be redirected: use 'Change address' on the tracking page,"
                                         " or reply with the new address and we will ask the carrier.",
                               "by": "liu.yang"})],
            ("consultation", None)),
        Script("major", {
            "name": "赵丽华", "phone": "137 6128 4410", "channel": "phone", "member": True, "order_ref": "TM-20261110-71893",
            "content": "买的电暖器使用第三天插头冒烟，孩子手被烫伤，要求赔偿医药费。"},
            _complaint(("liu.yang", True, "quality", "同批次电暖器插头经质检复测存在过热：产品质量问题属实"),
                       ("liu.yang", "供应商更换插头线材未报备，来料抽检漏检", "质检部 来料检验组长 冯磊"),
                       [("liu.yang", ["全额退款，承担医药费凭票报销，并上门致歉",
                                      "换新同款（新批次），承担医药费"], "sun.li", 1,
                         ("liu.yang", True, "赵丽华", "接受退款和医药费，希望召回"))],
                       ("sun.li", "产品质量问题造成轻微烫伤，已赔付并上门致歉；同批次下架",
                        ["同批次全部下架并主动召回", "供应商变更须报备并加严抽检"]),
                       refused_approver="liu.yang"),
            ("complaint", "major")),
        Script("rejected_then_accepted", {
            "name": "Michael Brown", "phone": "+1 312 555 0199", "channel": "email", "email": "m.brown@example.com",
            "order_ref": "WEB-20261112-10774",
            "content": "Credit card — Billing disputes: I was charged twice for the same order at checkout "
                       "and nobody has refunded the second charge. 同一订单被扣款两次。"},
            _complaint(("wang.fang", True, "finance", "支付网关对账显示同一订单两笔扣款：重复扣款属实"),
                       ("wang.fang", "支付回调超时后系统重试下单，生成第二笔扣款", "财务部 支付对账专员 何静"),
                       [("wang.fang", ["7个工作日内原路退回重复扣款"], "chen.jing", 1,
                         ("wang.fang", False, None, "Seven working days is too long; I want it back now. 太慢了。")),
                        ("wang.fang", ["今日内原路退回重复扣款，并补偿30元店铺券", "今日退回重复扣款"], "chen.jing", 1,
                         ("wang.fang", True, "Michael Brown", "Thanks, refund received today."))],
                       ("chen.jing", "重复扣款源于回调超时重试；首个方案时效不被接受，第二轮当日退款",
                        ["支付重试前先查询订单支付状态", "重复扣款当日自动冲正"])),
            ("complaint", "general")),
        Script("query", {
            "name": "孙建国", "phone": "135 0192 6633", "channel": "sms", "order_ref": "TB-20261119-23051",
            "content": "查询一下我的退款进度，退货已经寄回三天了。"},
            [Act(Step.ANSWER, {"answer": "您的退货已于11月22日入库，退款149元已原路退回，1–3个工作日到账。", "by": "li.na"})],
            ("query", None)),
        Script("upheld_accepted", {
            "name": "周敏", "phone": "150 2278 9104", "channel": "phone", "order_ref": "JD-20261116-66019",
            "content": "客服态度很差，我问了两遍退货流程，她直接挂我电话。"},
            _complaint(("zhang.wei", True, "service", "通话录音显示坐席未答复即挂断：服务态度问题属实"),
                       ("zhang.wei", "坐席高峰期违规挂断来电", "客服部 坐席 吴倩"),
                       [("zhang.wei", ["主管致电道歉并赠送10元券", "主管致电道歉"], "zhao.lei", 1,
                         ("zhang.wei", True, "周敏", "道歉诚恳，接受"))],
                       ("zhao.lei", "坐席挂断来电属实，已道歉；当事人已谈话并扣当月绩效",
                        ["高峰期排队提示代替挂断", "每周抽检10%录音"])),
            ("complaint", "general")),
        Script("crisis", {
            "name": "黄磊", "phone": "189 3301 5527", "channel": "phone", "order_ref": "TM-20261101-90345",
            "content": "买到的奶粉罐里有异物，投诉一周没人理，我已经联系了记者，准备发微博曝光。"},
            _complaint(("liu.yang", True, "quality", "实物照片与批次留样比对：罐内异物为封口铝箔碎片，质量问题属实"),
                       ("liu.yang", "封口机刀片磨损产生铝箔碎屑，首次投诉未按时转交", "生产部 灌装线班长 曹阳；客服部 坐席 马超"),
                       [("liu.yang", ["总监当面致歉，全额退款并赔偿，同批次召回，48小时内公开说明",
                                      "全额退款并赔偿"], "zhou.qiang", 1,
                         ("liu.yang", True, "黄磊", "看到召回和公开说明，同意不再曝光"))],
                       ("zhou.qiang", "质量问题叠加首次投诉无人跟进，升级为危机；已召回并公开说明",
                        ["封口机刀片按班次检查", "投诉超时未判定自动升级到经理"]),
                       refused_approver="zhang.wei"),
            ("complaint", "crisis")),
        Script("not_upheld", {
            "name": "Jessica Miller", "phone": "+1 646 555 0107", "channel": "web", "order_ref": "WEB-20261002-40512",
            "content": "Credit card — Customer service / Customer relations: your site refused my return "
                       "of a jacket I bought in early October. 拒绝给我退货。"},
            _complaint(("liu.yang", False, None,
                        "订单10月2日签收，已过30天退货期；商品页与订单确认邮件均注明退货期。已告知可享受会员保修服务")),
            ("complaint", "general")),
        Script("rejected_then_accepted", {
            "name": "吴海燕", "phone": "152 6671 3380", "channel": "in_person", "member": True, "order_ref": "TB-20261108-12200",
            "content": "洗衣机送来时外箱破损，机身侧面有凹痕，送货师傅让我先签收。"},
            _complaint(("li.na", True, "repair", "送装照片显示机身凹痕：运输破损属实，上门安装未按规范验机"),
                       ("li.na", "末端配送野蛮装卸，安装师傅未开箱验机即要求签收", "维修部 安装师傅 严明"),
                       [("li.na", ["上门修复凹痕并补偿50元"], "chen.jing", 1,
                         ("li.na", False, None, "新买的机器不要修补的，要换新。")),
                        ("li.na", ["48小时内换新机，上门拆旧装新", "退货退款"], "sun.li", 1,
                         ("li.na", True, "吴海燕", "换新了，安装师傅很仔细"))],
                       ("chen.jing", "运输破损且未验机即签收；首轮修复方案被拒，第二轮换新",
                        ["大件送装必须当面开箱验机", "破损件不得要求客户签收"])),
            ("complaint", "general")),
        Script("upheld_accepted", {
            "name": "郭佳", "phone": "177 0218 6654", "channel": "chat", "order_ref": "PDD-20261117-80913",
            "content": "收到的玻璃杯套装碎了两个，包装只有一层塑料袋。"},
            _complaint(("wang.fang", True, "logistics", "开箱视频显示外包装无缓冲材料：包装不当属实"),
                       ("wang.fang", "打包台缓冲材料缺货，打包员未补充即发货", "物流部 打包组长 罗刚"),
                       [("wang.fang", ["补发两个同款玻璃杯，加固包装", "部分退款30元"], "chen.jing", 1,
                         ("wang.fang", True, "郭佳", "补发收到了，完好"))],
                       ("chen.jing", "缓冲材料缺货导致破损，已补发", ["易碎品打包必须双层缓冲", "耗材低于安全库存自动补货"])),
            ("complaint", "general")),
    ]


def _ready(case: CaseState, executor: Executor) -> bool:
    """Has the case's run reached its next suspension (or completed, if the case is closed)?"""
    if case.status != "closed" and case.step not in HUMAN_STEPS:
        return False  # kefu itself is working on it (reply, remedy, closing): no need to ask Prefect
    kind, key = executor.run_state(case.flow_run_id)
    if case.status == "closed":
        return kind == "COMPLETED"
    return kind == "PAUSED" and key.startswith(f"{case.step}-{case.round}-")


def run(say: Callable[[str], None], executor: Executor, problems: list[str]) -> list[Script]:
    """The day's contacts, worked on side by side until each is closed (or the day's limit)."""
    started = time.monotonic()
    settings, rules, store = get_settings(), runtime.rules(), runtime.store()
    people = {s.id: s for s in rules.department.staff}
    day = scripts()
    waiting: list[Script] = list(day)  # not yet arrived
    active: list[Script] = []

    def stamp() -> str:
        return clock.now().astimezone(rules.department.department.zone).strftime("%H:%M:%S")

    def who(staff_id: str) -> str:
        member = people.get(staff_id)
        return f"{member.name} {staff_id} ({member.role})" if member else staff_id

    while waiting or active:
        if time.monotonic() - started > DAY_LIMIT_S:
            for s in active:
                problems.append(f"{s.case_id}: gave up waiting after {DAY_LIMIT_S:.0f} s "
                                f"(record at {store.state(s.case_id).step}); see `kefu case show {s.case_id}`")
            break
        # A new contact arrives while the team works on the others.
        if waiting and len(active) < MAX_OPEN_AT_ONCE:
            script = waiting.pop(0)
            _intake(script, say, stamp, problems)
            if script.case_id:
                active.append(script)
        for script in list(active):
            case = store.state(script.case_id)  # type: ignore[arg-type]
            if not _ready(case, executor):
                failed = executor.failure(case.flow_run_id)
                if failed or time.monotonic() - script.waited_since > 120:
                    # The executor lost track (a failed run, a missed wake-up): let the record drive it.
                    if failed:
                        script.failures += 1
                        say(f"{stamp()}  {script.case_id}  its flow run {failed}")
                    if script.failures >= 3:
                        problems.append(f"{script.case_id}: its flow run failed {script.failures} times, "
                                        f"last: {failed}; see {settings.home / 'log' / 'runner.log'}")
                        active.remove(script)
                        continue
                    note = orchestration.catch_up(case)
                    if note.startswith(("started", "restarted", "rerun", "resumed")):
                        say(f"{stamp()}  {script.case_id}  `kefu case sync`: {note}")
                    script.waited_since = time.monotonic()
                continue
            notified = complaint_of(case).notifications
            if notified and not script.announced:
                script.announced = True
                names = ", ".join(who(r) for n in notified for r in n.get("recipients", []))
                say(f"{stamp()}  {case.case_id}  {case.severity} complaint reported upward at intake to {names}")
            if script.done == len(script.acts):
                active.remove(script)
                say(f"{stamp()}  {case.case_id}  closed: {case.outcome}")
                continue
            _act(script, case, say, stamp, who)
        time.sleep(POLL_S)
    return day


def _intake(script: Script, say: Callable[[str], None], stamp: Callable[[], str], problems: list[str]) -> None:
    reg = ContactRegistration(**script.contact, by="li.na")
    state, note = service.open_contact(reg, signed_in(reg.by))
    script.case_id = state.case_id
    script.waited_since = time.monotonic()
    if (state.kind, state.severity) != script.expect:
        problems.append(f"{state.case_id}: classified {state.kind}/{state.severity}, expected "
                        f"{script.expect[0]}/{script.expect[1]} (config/complaint.yaml classification)")
    rule = next((part for part in state.intake.get("classified_by", "").split("; ")
                 if part.startswith("classification.")), None)
    say(f"{stamp()}  {state.case_id}  new {state.kind}/{state.severity or '-'} via {reg.channel} from "
        f"{reg.name}: {_short(reg.content, 60)}" + (f"  [rule {rule}]" if rule else ""))
    if note != "started":
        problems.append(f"{state.case_id}: flow run {note}")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _describe(act: Act) -> str:
    d = act.data
    if act.step == Step.JUDGEMENT:
        return (f"judges: upheld → {d['department']}" if d["upheld"] else "judges: not upheld") + f" ({_short(d['reason'], 40)})"
    if act.step == Step.INVESTIGATION:
        return f"investigates: {_short(d['cause'], 40)} — responsible: {d['responsible']}"
    if act.step == Step.PROPOSAL:
        return f"proposes {len(d['options'])} option(s): " + " | ".join(_short(o, 24) for o in d["options"])
    if act.step == Step.APPROVAL:
        return f"approves option {d['choice']}"
    if act.step == Step.IMPLEMENTATION:
        return (f"customer accepts, signs “{d['signature']}”" if d["accepted"]
                else f"customer rejects the plan: “{d['feedback']}”")
    if act.step == Step.REVIEW:
        return f"reviews: {_short(d['summary'], 40)}"
    if act.step == Step.ANSWER:
        return f"answers: {_short(d['answer'], 50)}"
    return act.step


def _act(script: Script, case: CaseState, say: Callable[[str], None], stamp: Callable[[], str],
         who: Callable[[str], str]) -> None:
    act = script.acts[script.done]
    script.done += 1
    script.waited_since = time.monotonic()
    prefix = f"{stamp()}  {case.case_id}  {who(act.data['by'])} "
    try:
        _, note = service.decide(case.case_id, act.step, act.data, signed_in(act.data["by"]))
    except InputRefused as refusal:
        if not act.refused:
            raise
        script.refusals.append({"step": act.step, "by": act.data["by"], "field": refusal.field,
                                "problem": refusal.problem, "fix": refusal.fix})
        say(f"{prefix}tries to approve — REFUSED by kefu:")
        say(f"{'':10}{'':18}  {refusal.field}: {refusal.problem}")
        say(f"{'':10}{'':18}  fix: {refusal.fix}")
        return
    if act.refused:
        raise RuntimeError(f"{case.case_id}: kefu accepted {act.step} by {act.data['by']}, which the rules forbid")
    say(prefix + _describe(act) + ("" if note == "resumed" else f"  [flow run {note}]"))


# Contacts nobody gets to: the demo lets the business clock run over them for days, so the
# escalation ladder climbs and the managers' digests land in the outbox.
STALLED = [
    dict(name="周敏", phone="13700001111", channel="email", kind="complaint", severity="general",
         content="退货申请提交一周了还没人处理 / My return request has had no answer for a week"),
    dict(name="郑凯", phone="13600002222", channel="phone", kind="complaint",
         content="热水器安装后漏水，地板泡坏，损失严重 / The water heater leaks since installation; serious damage"),
    dict(name="冯雪", phone="13500003333", channel="chat", kind="complaint", severity="general",
         content="发票抬头开错了 / The invoice carries the wrong company name"),
]
# Business time the demo lets pass (after the last intake), and what happens then.
CHECKPOINTS = [timedelta(hours=1), timedelta(hours=3), timedelta(days=1), timedelta(days=2),
               timedelta(days=3), timedelta(days=5), timedelta(days=8)]
PAUSE_UNTIL = timedelta(days=3)  # 冯雪 asked to be contacted after her trip


def escalations(say: Callable[[str], None], problems: list[str]) -> dict[str, Any]:
    """Stalled cases, the business clock advanced through the days, the sweep at each stop."""

    rules, store, settings = runtime.rules(), runtime.store(), get_settings()
    zone = rules.department.department.zone
    say("\nThree more contacts arrive, and nobody gets to them. The business clock now runs ahead:")
    stalled = []
    for contact in STALLED:
        state, note = service.open_contact(ContactRegistration(**contact, by="wang.fang"), signed_in("wang.fang"))
        stalled.append(state.case_id)
        if note != "started":
            problems.append(f"{state.case_id}: flow run {note}")
        say(f"  {state.case_id}  {state.kind}/{state.severity}  {contact['name']}: {_short(contact['content'], 40)}")
    paused = stalled[2]
    with service.acting(signed_in("wang.fang")):
        casework.pause_clock(store, rules, paused, "客户出差，三天后再联系 / customer travelling, call back in 3 days",
                             "wang.fang")
    say(f"  {paused}  clock stopped: the customer asked to be contacted after her trip")
    # The days pass forward for every kefu process of the home (kefu.core.clock.run_ahead_to).
    start = clock.now()
    engine = store.engine
    fired_total, resumed = 0, False
    for offset in CHECKPOINTS:
        clock.run_ahead_to(start + offset)
        if not resumed and offset >= PAUSE_UNTIL:
            with service.acting(signed_in("wang.fang")):
                state = casework.resume_clock(store, rules, paused, "客户回来了 / the customer is back", "wang.fang")
            due = next(d for d in state.open_deadlines() if d.step == Step.JUDGEMENT).due_at
            say(f"  {clock.now().astimezone(zone):%m-%d %H:%M}  {paused}  customer back; clock runs again, "
                f"judgement now due {due.astimezone(zone):%m-%d %H:%M}")  # type: ignore[union-attr]
            resumed = True
        report = sweep.escalate_due(engine, rules, dashboard_url=settings.dashboard_url,
                                    commands=processes.command_for)
        delivered = mail.deliver_due(engine, prefect_env.mail_transport())
        fired_total += report.rungs_fired
        for f in report.fired:
            if f["case_id"] in stalled:
                say(f"  {clock.now().astimezone(zone):%m-%d %H:%M}  {f['case_id']}  {f['step']}: rung {f['rung'] + 1} "
                    f"→ {f['notify']} ({', '.join(f['recipients'])})")
        if report.messages_queued:
            say(f"  {'':11}  sweep: {report.messages_queued} digest(s) queued, {delivered.sent} e-mailed")
    outbox = settings.resolved_outbox_dir
    messages = []
    for path in sorted(outbox.glob("*.eml")):
        import email
        from email import policy

        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        messages.append({"file": str(path), "to": parsed["To"], "subject": parsed["Subject"]})
    return {"cases": stalled, "paused": paused, "rungs_fired": fired_total,
            "business_days": CHECKPOINTS[-1].days, "outbox_dir": str(outbox.resolve()), "messages": messages}


def summary_rows(day: list[Script], executor: Executor) -> list[dict[str, Any]]:
    """One row per case of the day: where it ended, its deadlines, its run."""
    settings = get_settings()
    store = runtime.store()
    rows = []
    for script in day:
        if script.case_id is None:
            continue
        state = store.state(script.case_id)
        events = store.events(script.case_id)
        deadlines = state.deadlines
        late = [d for d in deadlines if d.due_at is not None and (d.met_at or clock.now()) > d.due_at]
        rows.append({
            "case_id": state.case_id, "branch": script.branch, "process": state.process, "kind": state.kind,
            "severity": state.severity, "status": state.status, "outcome": state.outcome, "step": state.step,
            "rounds": state.round, "events": len(events),
            "deadlines": {"met": sum(1 for d in deadlines if d.met_at is not None),
                          "open": sum(1 for d in deadlines if d.met_at is None), "late": len(late)},
            "notified_at_intake": [r for n in complaint_of(state).notifications for r in n.get("recipients", [])],
            "refusals": script.refusals,
            "flow_run_id": state.flow_run_id,
            "flow_run_state": executor.state_name(state.flow_run_id),
            "flow_run_url": run_page(settings.dashboard_url, state.flow_run_id) if state.flow_run_id else None,
        })
    return rows


