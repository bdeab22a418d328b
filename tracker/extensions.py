"""Extension objects, created once here and bound to the app in ``create_app``."""

from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
# The storage URI is set by create_app (a file store under the data folder), so
# limits hold across every worker process.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
