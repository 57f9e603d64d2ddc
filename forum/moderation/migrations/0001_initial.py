"""Moderation: board moderators, reports, the log, post revisions, thread redirects, bans."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('forum', '0009_post_held_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Ban',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('silence', 'silenced (may not post)'), ('suspend', 'suspended (may not post, edit or report)'), ('account', 'account banned'), ('email', 'e-mail address'), ('domain', 'e-mail domain'), ('ip', 'IP range')], max_length=10, verbose_name='kind')),
                ('value', models.CharField(blank=True, max_length=254, verbose_name='value')),
                ('reason', models.TextField(verbose_name='reason')),
                ('starts_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('ends_at', models.DateTimeField(blank=True, null=True, verbose_name='until')),
                ('lifted_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('lifted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='bans', to=settings.AUTH_USER_MODEL, verbose_name='member')),
            ],
            options={
                'verbose_name': 'ban',
                'verbose_name_plural': 'bans',
                'ordering': ['-starts_at', '-id'],
                'indexes': [models.Index(fields=['user', 'kind'], name='ban_user_kind'), models.Index(fields=['kind', 'value'], name='ban_kind_value')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ['silence', 'suspend', 'account']), ('user__isnull', False)), models.Q(('kind__in', ['email', 'domain', 'ip']), ('user__isnull', True), models.Q(('value', ''), _negated=True)), _connector='OR'), name='ban_has_its_target')],
            },
        ),
        migrations.CreateModel(
            name='BoardModerator',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('added_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('board', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='moderators', to='forum.board', verbose_name='board')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='moderated_boards', to=settings.AUTH_USER_MODEL, verbose_name='member')),
            ],
            options={
                'verbose_name': 'board moderator',
                'verbose_name_plural': 'board moderators',
                'constraints': [models.UniqueConstraint(fields=('user', 'board'), name='board_moderator_once')],
            },
        ),
        migrations.CreateModel(
            name='ModerationLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='when')),
                ('actor_name', models.CharField(blank=True, max_length=150)),
                ('action', models.CharField(choices=[('hide_post', 'hid a post'), ('restore_post', 'restored a post'), ('approve_post', 'approved a post'), ('reject_post', 'rejected a post'), ('dismiss_reports', 'kept a reported post'), ('delete_post', 'deleted a post for good'), ('edit_post', 'edited a post'), ('redact_post', 'redacted a post'), ('lock_thread', 'locked a thread'), ('unlock_thread', 'unlocked a thread'), ('hide_thread', 'hid a thread'), ('restore_thread', 'restored a thread'), ('move_thread', 'moved a thread'), ('merge_thread', 'merged a thread into this one'), ('delete_thread', 'deleted a thread for good'), ('close_report', 'closed a report'), ('silence_member', 'silenced a member'), ('suspend_member', 'suspended a member'), ('ban_account', 'banned an account'), ('ban_email', 'banned an e-mail address'), ('ban_domain', 'banned an e-mail domain'), ('ban_ip', 'banned an IP range'), ('lift_ban', 'lifted a ban')], max_length=20, verbose_name='what')),
                ('target', models.CharField(max_length=300, verbose_name='target')),
                ('category', models.CharField(blank=True, max_length=20)),
                ('reason', models.TextField(verbose_name='why')),
                ('public', models.BooleanField(default=False)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='who')),
                ('board', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='forum.board')),
                ('member', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('post', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='forum.post')),
                ('thread', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='forum.thread')),
            ],
            options={
                'verbose_name': 'moderation log entry',
                'verbose_name_plural': 'moderation log',
                'ordering': ['-created_at', '-id'],
                'permissions': [('delete_for_good', 'Can delete posts for good')],
                'default_permissions': ('view',),
                'indexes': [models.Index(fields=['-created_at', '-id'], name='modlog_newest'), models.Index(fields=['thread', 'public', '-created_at', '-id'], name='modlog_thread_public'), models.Index(fields=['member', '-created_at'], name='modlog_member_recent'), models.Index(fields=['action', '-created_at'], name='modlog_action_recent'), models.Index(fields=['actor', '-created_at'], name='modlog_actor_recent'), models.Index(fields=['board', '-created_at'], name='modlog_board_recent')],
            },
        ),
        migrations.CreateModel(
            name='PostRevision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('subtitle', models.CharField(blank=True, max_length=200)),
                ('source', models.TextField(blank=True)),
                ('device', models.CharField(blank=True, max_length=100)),
                ('os', models.CharField(blank=True, max_length=100)),
                ('blocks', models.JSONField(blank=True, default=list)),
                ('quote_details', models.JSONField(blank=True, default=list)),
                ('edited_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('reason', models.TextField(blank=True)),
                ('edited_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('post', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='revisions', to='forum.post')),
            ],
            options={
                'verbose_name': 'post revision',
                'verbose_name_plural': 'post revisions',
                'ordering': ['post', 'number'],
                'constraints': [models.UniqueConstraint(fields=('post', 'number'), name='post_revision_number')],
            },
        ),
        migrations.CreateModel(
            name='Report',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('spam', 'spam'), ('phishing', 'a phishing link posted as bait'), ('personal_data', 'personal data'), ('off_topic', 'off-topic'), ('other', 'other'), ('removal', 'removal of my personal data')], max_length=20, verbose_name='reason')),
                ('note', models.TextField(blank=True, verbose_name='note')),
                ('url', models.CharField(blank=True, max_length=500, verbose_name='address of the post')),
                ('contact_email', models.EmailField(blank=True, max_length=254, verbose_name='e-mail address for the answer')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('status', models.CharField(choices=[('open', 'open'), ('upheld', 'acted on'), ('dismissed', 'dismissed')], default='open', max_length=10)),
                ('handled_at', models.DateTimeField(blank=True, null=True)),
                ('resolution', models.TextField(blank=True)),
                ('handled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('post', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reports', to='forum.post')),
                ('reporter', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reports_made', to=settings.AUTH_USER_MODEL)),
                ('thread', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reports', to='forum.thread')),
            ],
            options={
                'verbose_name': 'report',
                'verbose_name_plural': 'reports',
                'ordering': ['created_at', 'id'],
                'indexes': [models.Index(fields=['status', 'created_at'], name='report_status_oldest'), models.Index(fields=['post', 'status'], name='report_post_status')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('post__isnull', False), ('status', 'open'), models.Q(('reason', 'removal'), _negated=True)), fields=('reporter', 'post'), name='report_open_once_per_post'), models.UniqueConstraint(condition=models.Q(('post__isnull', True), ('status', 'open'), ('thread__isnull', False), models.Q(('reason', 'removal'), _negated=True)), fields=('reporter', 'thread'), name='report_open_once_per_thread')],
            },
        ),
        migrations.CreateModel(
            name='ThreadRedirect',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('board', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='forum.board')),
                ('thread', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='forum.thread')),
            ],
            options={
                'verbose_name': 'thread redirect',
                'verbose_name_plural': 'thread redirects',
                'constraints': [models.UniqueConstraint(fields=('board', 'number'), name='thread_redirect_address')],
            },
        ),
    ]
