import os

from django.core.wsgi import get_wsgi_application

from phonon.charset_guard import CharsetGuard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phonon.settings")
application = CharsetGuard(get_wsgi_application())
