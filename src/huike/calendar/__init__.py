"""The Chinese working-day calendar (F5).

Importing the package registers its jobs (``huike.calendar.tasks``): ``huike.registry.load`` reaches
it through ``huike.models``, so every process (web, worker, scheduler) knows them.
"""

from huike.calendar import tasks as tasks
