from app.routes import account, admin, auth, classes, health, metrics, modules, pages, preview, review, student

all_routers = [
    health.router,
    pages.router,
    modules.router,
    student.router,
    student.feedback_router,
    auth.router,
    account.router,
    admin.router,
    metrics.router,
    classes.router,
    review.router,
    preview.router,
]
