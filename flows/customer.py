"""P5 Customer archive 客户资料管理 — one flow run per new customer (PROCESSES.md P5; seed 001
客户服务部工作职责及规范 一、客户资料管理).

1. 资料收集: an agent collected the record (``kefu customer add`` or a row of ``kefu intake
   customers``) and kefu graded it by 《客户分类管理标准》 — done when the customer was registered.
2. 资料处理: the supervisor confirms the owner, from kefu's proposal "按照负责客户数量均衡、兼顾业务
   能力" (``kefu customer assign --confirm`` for the whole day, or this run's form).
3. The owner contacts the customer within one week and records it (一周内与客户进行沟通，并做详细备案).
Later changes of the profile are recorded on the same case at any time, outside this sequence.
The run is safe to start again at any moment: each wait asks the customer record first.
"""

from __future__ import annotations

from prefect import flow

from flows.visibility import case_finished
from flows.waiting import decision_of, read_case
from models.customer import ASSIGNMENT, CONTACTED_OUTCOME, FIRST_CONTACT
from tasks.customer import send_refresh_reminders


@flow(name="customer", log_prints=True, on_completion=[case_finished])
async def customer(case_id: str) -> str:
    """Take one new customer from collection to the owner's first contact."""
    if read_case(case_id).status == "closed":
        return CONTACTED_OUTCOME  # a run started again after the end has nothing left to do
    # 2. The supervisor assigns the customer (the day's proposal, or another agent).
    await decision_of(case_id, ASSIGNMENT)
    # 3. The owner's first contact, within one week of the assignment.
    await decision_of(case_id, FIRST_CONTACT)
    return CONTACTED_OUTCOME


@flow(name="customer-refresh", log_prints=True)
def customer_refresh() -> dict[str, list[str]]:
    """Monthly: remind each owner of their customers whose record nobody touched lately."""
    return send_refresh_reminders()
