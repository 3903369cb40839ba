"""``python -m cofor [serve|migrate]``."""
from kit.app import service_main

from cofor.bootstrap import MIGRATIONS, build_app
from cofor.settings import CoforSettings

if __name__ == "__main__":
    service_main(settings_cls=CoforSettings, build=build_app, migrations_dir=MIGRATIONS)
