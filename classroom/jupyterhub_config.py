"""JupyterHub for one classroom on one machine: JupyterLab per learner, iamkit's workbook from uv.lock.

Started by ``./scripts/classroom`` (which installs the lock's ``classroom`` extra and the proxy from
``classroom/package-lock.json``); every setting comes from the environment it sets:

=============================  ==============================================================================
``IAMKIT_CLASSROOM_DIR``       the class's state: hub database, cookie secret, learners' homes, nbgrader course
``IAMKIT_CLASSROOM_IP``        the address the hub listens on (``127.0.0.1``: this machine only)
``IAMKIT_CLASSROOM_PORT``      its port (8000); the hub's API and the proxy's API take the two ports after it
``IAMKIT_CLASSROOM_AUTH``      ``native`` (learners sign up with a password, an admin approves them) or
                               ``shared-password`` (any name, one password: tests and a first look only)
``IAMKIT_CLASSROOM_ADMINS``    comma-separated admin users (``instructor``): they approve sign-ups, see every
                               learner's server, and get the course's instructor notebook in their home
``IAMKIT_CLASSROOM_PASSWORD``  with ``shared-password``: that password (required)
``IAMKIT_CLASSROOM_API_TOKEN`` optional: a token for the ``classroom-admin`` service, which may create users and
                               start their servers through the REST API (the test lane uses it)
=============================  ==============================================================================

Each learner's server is ``jupyterhub-singleuser`` (JupyterLab) run by
``SimpleLocalProcessSpawner`` as the hub's own system user, in a home folder of its own under
``$IAMKIT_CLASSROOM_DIR/homes``, seeded on first start with the lessons (the nbgrader release of
a lesson once ``./scripts/classroom release`` made it). Every kernel starts with iamkit's loopback
guard on (``classroom/kernel_startup.py`` in the learner's IPython profile); each lesson's
``start_sandbox`` then runs moto inside that kernel, on a free loopback port, so two learners —
or two notebooks of one learner — never share an account.

What this does *not* give: a security boundary between learners. They run as one system user and
reach one another's files and loopback ports. For learners you do not trust with that, run the
Zero to JupyterHub chart (``classroom/z2jh/``): a pod per learner, with its own loopback.
"""

import os
import pathlib
import shutil
import sys

c = get_config()  # noqa: F821 - JupyterHub's config loader defines it

CLASSROOM = pathlib.Path(__file__).resolve().parent
STATE = pathlib.Path(os.environ.get("IAMKIT_CLASSROOM_DIR", CLASSROOM / "state")).resolve()
HOMES = STATE / "homes"
COURSE = STATE / "course"
IP = os.environ.get("IAMKIT_CLASSROOM_IP", "127.0.0.1")
PORT = int(os.environ.get("IAMKIT_CLASSROOM_PORT", "8000"))
AUTH = os.environ.get("IAMKIT_CLASSROOM_AUTH", "native")
ADMINS = {name.strip() for name in os.environ.get("IAMKIT_CLASSROOM_ADMINS", "instructor").split(",") if name.strip()}
BIN = pathlib.Path(sys.executable).parent  # the workbook environment's bin: jupyterhub runs from it

sys.path.insert(0, str(CLASSROOM))
from course import seed_home  # noqa: E402 - needs the folder on sys.path

STATE.mkdir(parents=True, exist_ok=True)
HOMES.mkdir(exist_ok=True)

# -- the hub, its proxy and its state ------------------------------------------------------------
host = f"[{IP}]" if ":" in IP else IP
c.JupyterHub.bind_url = f"http://{host}:{PORT}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{PORT + 1}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 2}"
c.ConfigurableHTTPProxy.command = [str(CLASSROOM / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server
c.JupyterHub.cleanup_proxy = True

# -- who may sign in -----------------------------------------------------------------------------
c.Authenticator.admin_users = ADMINS
if AUTH == "native":
    import nativeauthenticator

    # Learners sign up at /hub/signup with a password; an admin approves each at /hub/authorize.
    c.JupyterHub.authenticator_class = "native"
    c.NativeAuthenticator.open_signup = False
    c.NativeAuthenticator.minimum_password_length = 10
    c.NativeAuthenticator.check_common_password = True
    c.NativeAuthenticator.allowed_failed_logins = 5
    c.Authenticator.allow_all = True  # every approved sign-up; approval is the gate
    c.JupyterHub.template_paths = [str(pathlib.Path(nativeauthenticator.__file__).parent / "templates")]
elif AUTH == "shared-password":
    password = os.environ.get("IAMKIT_CLASSROOM_PASSWORD", "")
    if not password:
        sys.exit("[iamkit] IAMKIT_CLASSROOM_AUTH=shared-password needs IAMKIT_CLASSROOM_PASSWORD, the password every name uses")
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = password
    c.Authenticator.allow_all = True
else:
    sys.exit(f"[iamkit] IAMKIT_CLASSROOM_AUTH is `{AUTH}`: use `native` (a class) or `shared-password` (a test)")

token = os.environ.get("IAMKIT_CLASSROOM_API_TOKEN")
if token:
    c.JupyterHub.services = [{"name": "classroom-admin", "api_token": token}]
    c.JupyterHub.load_roles = [{
        "name": "classroom-admin",
        "services": ["classroom-admin"],
        "scopes": ["admin:users", "admin:servers", "access:servers", "read:users:activity"],
    }]

# -- each learner's server -----------------------------------------------------------------------
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(HOMES / "{username}")
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.args = [
    *(["--allow-root"] if os.geteuid() == 0 else []),
    # A kernel idle for an hour is shut down (its sandbox with it); the lesson's notebook stays.
    "--MappingKernelManager.cull_idle_timeout=3600",
    "--MappingKernelManager.cull_interval=300",
]
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.environment = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}


def pre_spawn_hook(spawner):
    """Give a learner a home of their own: the lessons, their data and the kernel's guard, once."""
    home = pathlib.Path(spawner.home_dir)
    admin = spawner.user.name in ADMINS
    seed_home(home, COURSE, admin=admin)
    spawner.environment = {**spawner.environment, "IPYTHONDIR": str(home / ".ipython")}
    if admin:  # for the instructor notebook
        spawner.environment.update(IAMKIT_CLASSROOM_DIR=str(STATE), IAMKIT_CLASSROOM_CODE=str(CLASSROOM),
                                   IAMKIT_CLASSROOM_ADMINS=",".join(sorted(ADMINS)))


c.Spawner.pre_spawn_hook = pre_spawn_hook

if shutil.which("dot", path=os.environ.get("PATH")) is None:
    print("[iamkit] Graphviz's `dot` is missing: diagrams will show their text (apt-get install graphviz)", file=sys.stderr)
