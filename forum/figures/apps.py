from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiguresConfig(AppConfig):
    """Members' screenshots attached to posts (the archive's `<図>`), re-encoded and served by Daiou."""

    name = "forum.figures"
    label = "figures"
    verbose_name = _("Figures")
    default_auto_field = "django.db.models.BigAutoField"
