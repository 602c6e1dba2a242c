"""Lecturers manage their classes: join codes, rosters, co-lecturers, assignments, extensions, progress.

One router per part of the class pages; they share app/routes/classes/pages.py and import no other route module.
"""

from app.routes.classes import assignments, overview, progress, settings, students
from app.routing import Router

router = Router()
for area in (overview, students, settings, assignments, progress):  # "/new" is matched before "/{class_id}"
    router.include_router(area.router)
