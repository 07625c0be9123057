"""Extension objects shared by the factory, models and services."""
from flask_appbuilder import Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = get_sqla_class()(model_class=Model)
migrate = Migrate()
csrf = CSRFProtect()
