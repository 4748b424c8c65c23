"""Hour budgets in the database: loading a customer's budget state (writes follow)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlmodel import Session

from models.enums import TaskStatus
from models.tables import HourPackage, Task, TimeEntry

from ..rules import budget as rules


def load_budget(session: Session, customer_id: uuid.UUID, today: dt.date) -> rules.Budget:
    used = dict(
        session.execute(
            select(TimeEntry.package_id, func.sum(TimeEntry.minutes))
            .where(TimeEntry.customer_id == customer_id, TimeEntry.package_id.is_not(None))
            .group_by(TimeEntry.package_id)
        ).all()
    )
    packages = [
        rules.PackageState(
            id=p.id,
            booked=p.minutes,
            used=int(used.get(p.id, 0)),
            purchased_on=p.purchased_on,
            valid_until=p.valid_until,
        )
        for p in session.execute(select(HourPackage).where(HourPackage.customer_id == customer_id)).scalars()
    ]
    tasks = [
        rules.OpenTask(id=t.id, estimate=t.estimate_minutes, deadline=t.deadline)
        for t in session.execute(
            select(Task).where(Task.customer_id == customer_id, Task.status == TaskStatus.OPEN)
        ).scalars()
    ]
    return rules.compute(packages, tasks, today)
