"""The automation face: tasks' schedules, event triggers, webhook alerts and actions.

See ``engine.Automation``; ``attach_automation(services)`` puts it to work.
"""

from task_station.automation.engine import Automation, attach_automation

__all__ = ["Automation", "attach_automation"]
