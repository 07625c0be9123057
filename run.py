"""FLASK_APP target: `flask --app run ...`; APP_CONFIG picks the config class."""
import os

from app import create_app

app = create_app(os.environ.get("APP_CONFIG", "config.Config"))
