"""``python -m support [serve|migrate]``."""
from kit.app import service_main

from support.bootstrap import MIGRATIONS, build_app
from support.settings import SupportSettings

if __name__ == "__main__":
    service_main(settings_cls=SupportSettings, build=build_app, migrations_dir=MIGRATIONS)
