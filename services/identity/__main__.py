"""``python -m identity [serve|migrate]``."""
from kit.app import service_main

from identity.bootstrap import MIGRATIONS, build_app
from identity.settings import IdentitySettings

if __name__ == "__main__":
    service_main(settings_cls=IdentitySettings, build=build_app, migrations_dir=MIGRATIONS)
