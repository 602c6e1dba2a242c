from app.routes import account, admin, auth, health, modules, pages

all_routers = [health.router, pages.router, modules.router, auth.router, account.router, admin.router]
