from app.routes import account, admin, auth, health, modules, pages, student

all_routers = [health.router, pages.router, modules.router, student.router, student.feedback_router,
               auth.router, account.router, admin.router]
