"""Identity management commands (§10): create_tenant, create_user, create_api_token, seed_demo, --help."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from informer.models import ApiToken, Team, Tenant, User, hash_token
from jobs.models import Job, JobGroupObjectPermission, JobTag, JobUserObjectPermission
from library.models import Library, LibraryFile
from tests.conftest import bearer_client
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    """Run a command; return what it printed on stdout."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [
        *(Tenant, User, Group, Team, ApiToken, Job, JobTag, JobUserObjectPermission, JobGroupObjectPermission),
        *(Library, LibraryFile),
    ]
    return {model.__name__: model.objects.count() for model in models}


# --- create_tenant ------------------------------------------------------------------------------------


def test_create_tenant():
    # when
    out = run(
        "create_tenant", "acme", "--name", "Acme Corp", "--timezone", "Europe/London", "--max-concurrent-jobs", "5"
    )

    # then
    tenant = Tenant.objects.get(slug="acme")
    assert (tenant.name, tenant.timezone, tenant.max_concurrent_jobs) == ("Acme Corp", "Europe/London", 5)
    assert "Created tenant 'acme'" in out


def test_create_tenant_defaults():
    run("create_tenant", "plain")

    tenant = Tenant.objects.get(slug="plain")
    assert (tenant.name, tenant.timezone, tenant.max_concurrent_jobs) == ("plain", "UTC", 10)


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["taken"], "taken"),
        (["default"], "default"),
        (["fresh", "--timezone", "Mars/Base"], "Mars/Base"),
        (["fresh", "--max-concurrent-jobs", "0"], "maxConcurrentJobs"),
    ],
)
def test_create_tenant_errors_change_nothing(args, word):
    # given
    TenantFactory(slug="taken")
    before = counts()

    # when
    with pytest.raises(CommandError) as error:
        run("create_tenant", *args)

    # then
    assert word in str(error.value)
    assert error.value.returncode == 1
    assert counts() == before
    assert not Tenant.objects.filter(slug="fresh").exists()


# --- create_user --------------------------------------------------------------------------------------


def test_create_user_in_a_tenant_with_teams_and_staff():
    # given
    acme = TenantFactory(slug="acme")

    # when
    out = run("create_user", "bob", "--tenant", "acme", "--password", "a-long-password", "--staff", "--group", "ops",
              "--group", "devs", "--email", "bob@acme.test")  # fmt: skip

    # then
    user = User.objects.get(username="bob")
    assert user.tenant == acme
    assert user.is_staff and not user.is_superuser
    assert user.email == "bob@acme.test"
    assert sorted(Team.objects.filter(user=user).values_list("local_name", "tenant__slug")) == [
        ("devs", "acme"),
        ("ops", "acme"),
    ]
    assert "Created user 'bob' in tenant 'acme', in team(s) 'devs', 'ops'." in out
    login = APIClient().post("/api/login", {"username": "bob", "password": "a-long-password"}, format="json")
    assert login.status_code == 200
    assert login.json()["tenantSlug"] == "acme"


def test_create_user_joins_an_existing_team_of_its_tenant():
    acme = TenantFactory(slug="acme")
    team = TeamFactory(name="ops", tenant=acme)

    run("create_user", "carol", "--tenant", "acme", "--group", "ops")

    assert list(User.objects.get(username="carol").groups.values_list("pk", flat=True)) == [team.pk]
    assert Team.objects.filter(local_name="ops").count() == 1


def test_create_user_defaults_to_the_default_tenant_and_no_password():
    run("create_user", "dave")

    user = User.objects.get(username="dave")
    assert user.tenant.slug == "default"
    assert not user.has_usable_password()
    assert not user.is_staff


def test_create_superuser():
    run("create_user", "root", "--superuser")

    user = User.objects.get(username="root")
    assert user.is_superuser and user.is_staff


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["erin", "--tenant", "nope"], "nope"),
        (["taken", "--tenant", "acme"], "taken"),
        (["erin", "--tenant", "acme", "--group", "  "], "empty"),
        (["erin", "--tenant", "acme", "--group", "x" * 101], "at most 100"),
    ],
)
def test_create_user_errors_change_nothing(args, word):
    # given
    acme = TenantFactory(slug="acme")
    UserFactory(username="taken", tenant=acme)
    TeamFactory(name="beta-team", tenant=TenantFactory(slug="beta"))
    before = counts()

    # when
    with pytest.raises(CommandError) as error:
        run("create_user", *args)

    # then
    assert word in str(error.value)
    assert counts() == before
    assert not User.objects.filter(username="erin").exists()


# --- create_api_token ---------------------------------------------------------------------------------


def test_create_api_token_prints_a_secret_that_authenticates():
    # given
    UserFactory(username="bot", tenant=TenantFactory(slug="acme"))

    # when
    secret = run("create_api_token", "bot", "--name", "deploy").strip()

    # then
    token = ApiToken.objects.get()
    assert secret.startswith("inf_")
    assert token.key_hash == hash_token(secret)
    assert token.name == "deploy"
    assert token.expires_at is None
    me = bearer_client(secret).get("/api/me")
    assert me.status_code == 200
    assert me.json()["username"] == "bot"


def test_create_api_token_with_expiry(time_machine):
    UserFactory(username="bot")
    time_machine.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False)

    run("create_api_token", "bot", "--expires-days", "3")

    token = ApiToken.objects.get()
    assert token.expires_at == datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_each_token_is_new():
    UserFactory(username="bot")

    secrets = {run("create_api_token", "bot").strip() for _ in range(3)}

    assert len(secrets) == 3
    assert ApiToken.objects.count() == 3


@pytest.mark.parametrize(("args", "word"), [(["ghost"], "ghost"), (["bot", "--expires-days", "0"], "expiresDays")])
def test_create_api_token_errors_change_nothing(args, word):
    UserFactory(username="bot")
    before = counts()

    with pytest.raises(CommandError) as error:
        run("create_api_token", *args)

    assert word in str(error.value)
    assert counts() == before


# --- seed_demo ----------------------------------------------------------------------------------------


def test_seed_demo_is_idempotent_and_its_login_works():
    # when
    first_out = run("seed_demo")
    first = counts()
    second_out = run("seed_demo")

    # then
    assert counts() == first
    assert first["Job"] == 9  # four demo jobs for each of two owners, and the sales workbook job of 'demo'
    assert (first["Library"], first["LibraryFile"]) == (1, 15)  # twelve demo documents in three folders
    assert Tenant.objects.filter(slug__in=["default", "acme"]).count() == 2
    assert "Demo data ready." in first_out and "Demo data ready." in second_out
    assert "informer-demo" in first_out
    login = APIClient().post("/api/login", {"username": "demo", "password": "informer-demo"}, format="json")
    assert login.status_code == 200
    client = APIClient()
    client.post("/api/login", {"username": "viewer", "password": "informer-demo"}, format="json")
    shared = client.get("/api/jobs").json()
    assert shared["total"] == 1  # the first demo job, shared with the analysts team


def test_seed_demo_keeps_tenants_apart():
    run("seed_demo")

    for username, slug, made in [("demo", "default", 5), ("acme", "acme", 4)]:
        client = APIClient()
        client.post("/api/login", {"username": username, "password": "informer-demo"}, format="json")
        jobs = client.get("/api/jobs?limit=100").json()["_embedded"]["inf:job"]
        assert len(jobs) == made  # 'demo' also owns the sales workbook job
        assert {item["naturalId"].split(":")[0] for item in jobs} == {slug}


# --- --help -------------------------------------------------------------------------------------------

COMMANDS = [
    "create_tenant",
    "create_user",
    "create_api_token",
    "seed_demo",
    "scheduler",
    "run_job",
    "fire_times",
    "prune_history",
    "qcluster",
]


@pytest.mark.parametrize("name", COMMANDS)
def test_help(name, capsys):
    # when
    with pytest.raises(SystemExit) as exit_info:
        call_command(name, "--help")

    # then
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:")
    assert name in out
    assert "--help" in out


# --- create_tenant: the slug is validated as everywhere else ---------------------------------------------


@pytest.mark.parametrize(
    "slug",
    ["Bad Slug!", "has space", "dots.are.out", "slash/no", "caf\u00e9", "\u0661", "", "x" * 65, "new\nline"],
)
def test_create_tenant_with_an_invalid_slug_fails_readably_and_creates_nothing(slug):
    # given
    before = counts()

    # when
    with pytest.raises(CommandError) as error:
        run("create_tenant", slug)

    # then
    assert str(error.value).startswith(f"Invalid tenant slug '{slug}': ")
    assert error.value.returncode == 1
    assert counts() == before


def test_create_tenant_names_the_rule_it_broke():
    with pytest.raises(CommandError) as error:
        run("create_tenant", "Bad Slug!")

    assert str(error.value) == (
        "Invalid tenant slug 'Bad Slug!': Enter a valid \u201cslug\u201d consisting of letters, numbers, underscores"
        " or hyphens."
    )


@pytest.mark.parametrize("slug", ["acme", "acme-2", "ACME_eu", "a", "x" * 64])
def test_create_tenant_accepts_every_valid_slug(slug):
    run("create_tenant", slug)

    assert Tenant.objects.filter(slug=slug).exists()


# --- create_user --group: team names per tenant ---------------------------------------------------------


def test_create_user_makes_its_tenants_own_team_when_another_tenant_has_that_name():
    # given
    acme = TenantFactory(slug="acme")
    beta_team = TeamFactory(name="analysts", tenant=TenantFactory(slug="beta"))

    # when
    out = run("create_user", "erin", "--tenant", "acme", "--group", "analysts")

    # then
    team = Team.objects.get(user__username="erin")
    assert (team.local_name, team.tenant_id) == ("analysts", acme.pk)
    assert team.pk != beta_team.pk
    assert list(beta_team.user_set.all()) == []
    assert "in team(s) 'analysts'" in out


def test_create_user_joins_the_team_whose_name_differs_only_in_case():
    # given
    acme = TenantFactory(slug="acme")
    team = TeamFactory(name="analysts", tenant=acme)

    # when
    out = run("create_user", "fay", "--tenant", "acme", "--group", "Analysts")

    # then
    assert list(User.objects.get(username="fay").groups.values_list("pk", flat=True)) == [team.pk]
    assert list(Team.objects.values_list("local_name", flat=True)) == ["analysts"]
    assert "in team(s) 'analysts'" in out


# --- seed_demo: only what it made ---------------------------------------------------------------------


def logs_in(username: str, password: str) -> bool:
    return (
        APIClient().post("/api/login", {"username": username, "password": password}, format="json").status_code == 200
    )


def test_seed_demo_changes_nothing_when_run_again(db_state):
    # given
    run("seed_demo")
    before = db_state()

    # when
    out = run("seed_demo")

    # then
    assert db_state() == before
    assert "Log in as 'admin' (superuser), 'demo', 'viewer' or 'acme' with password 'informer-demo'." in out


def test_seed_demo_leaves_a_user_it_did_not_make_alone_and_says_so():
    # given: an operator made 'admin' (createsuperuser) and someone else made 'demo'
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True, password="operator-secret")
    demo = UserFactory(username="demo", password="informer-demo")
    rows = list(User.objects.filter(pk__in=[admin.pk, demo.pk]).order_by("pk").values())

    # when
    out = run("seed_demo")

    # then: neither was changed (password, flags, teams), and the output says what is true of each
    assert list(User.objects.filter(pk__in=[admin.pk, demo.pk]).order_by("pk").values()) == rows
    assert not admin.groups.exists() and not demo.groups.exists()
    assert "Log in as 'viewer' or 'acme' with password 'informer-demo'." in out
    assert (
        "User 'admin' exists and was not made by seed_demo: it was left as it is, "
        "and the password above does not log it in."
    ) in out
    assert (
        "User 'demo' exists and was not made by seed_demo: it was left as it is, and the password above logs it in."
        in out
    )
    assert logs_in("admin", "operator-secret") and not logs_in("admin", "informer-demo")
    # and nothing of theirs was shared or given jobs
    assert not Job.objects.filter(owner__in=[admin, demo]).exists()


def test_seed_demo_never_shares_or_changes_someone_elses_jobs(db_state):
    # given: a 'demo' user of someone else's with jobs, one of them named like a demo job
    demo = UserFactory(username="demo", tenant=Tenant.objects.get(slug="default"))
    theirs = [
        JobFactory(owner=demo, name="Aardvark", slug="aardvark"),
        JobFactory(owner=demo, name="Weekly sales report", slug="weekly-sales-report"),
    ]
    rows = list(Job.objects.filter(pk__in=[job.pk for job in theirs]).order_by("pk").values())

    # when
    out = run("seed_demo")

    # then
    assert list(Job.objects.filter(pk__in=[job.pk for job in theirs]).order_by("pk").values()) == rows
    assert not JobGroupObjectPermission.objects.filter(content_object__in=theirs).exists()
    assert set(JobUserObjectPermission.objects.filter(content_object__in=theirs).values_list("user_id", flat=True)) == {
        demo.pk
    }
    assert "User 'demo' exists and was not made by seed_demo" in out


def test_seed_demo_never_joins_or_shares_with_a_team_it_did_not_make():
    # given: the default tenant has its own 'Analysts' team (the demo's name, in another case)
    theirs = TeamFactory(name="Analysts", tenant=Tenant.objects.get(slug="default"))

    # when
    out = run("seed_demo")

    # then
    assert list(theirs.user_set.all()) == []
    assert not JobGroupObjectPermission.objects.filter(group=theirs).exists()
    assert list(Team.objects.filter(tenant__slug="default").values_list("local_name", flat=True)) == ["Analysts"]
    assert (
        "Team 'analysts' of tenant 'default' exists and was not made by seed_demo: "
        "no demo user joined it and nothing was shared with it."
    ) in out
    # the demo users it made work all the same
    assert logs_in("demo", "informer-demo")


def test_seed_demo_adds_nothing_to_a_tenant_it_did_not_make():
    # given
    acme = TenantFactory(slug="acme", name="The real Acme")

    # when
    out = run("seed_demo")

    # then
    assert not User.objects.filter(tenant=acme).exists()
    assert not Job.objects.filter(tenant=acme).exists()
    assert Tenant.objects.get(pk=acme.pk).name == "The real Acme"
    assert "Tenant 'acme' exists and was not made by seed_demo: nothing was added to it." in out
    assert "Log in as 'admin' (superuser), 'demo' or 'viewer' with password 'informer-demo'." in out


def test_seed_demo_prints_the_password_that_is_actually_set():
    # given
    run("seed_demo", "--password", "first-password")

    # when
    out = run("seed_demo", "--password", "second-password")

    # then: its own users now log in with the password printed, and the output says it changed
    assert "with password 'second-password'." in out
    assert "Demo user 'demo' had another password; it was set to the one above." in out
    for username in ("admin", "demo", "viewer", "acme"):
        assert logs_in(username, "second-password"), username
        assert not logs_in(username, "first-password"), username


def test_seed_demo_refuses_an_empty_password():
    before = counts()

    with pytest.raises(CommandError) as error:
        run("seed_demo", "--password", "")

    assert "--password cannot be empty" in str(error.value)
    assert counts() == before


def test_seed_demo_makes_again_what_it_made_and_was_deleted():
    # given
    run("seed_demo")
    Job.objects.filter(tenant__slug="default", slug="weekly-sales-report").delete()

    # when
    run("seed_demo")

    # then: made again, and shared again with the demo team
    job = Job.objects.get(tenant__slug="default", slug="weekly-sales-report")
    team = Team.objects.get(tenant__slug="default", local_name="analysts")
    assert JobGroupObjectPermission.objects.filter(content_object=job, group=team).exists()
