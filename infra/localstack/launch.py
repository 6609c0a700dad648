"""Start LocalStack (host mode, no Docker) with the DynamoDB Local provisioned by install.sh.

Run with the venv's python: `.tokenim/localstack/venv/bin/python infra/localstack/launch.py`
(infra/emulator/up does this, after setting the LocalStack environment variables).

Before handing over to `localstack.runtime.main`, it patches three things in
localstack.services.dynamodb (4.14.0):

1. Java: LocalStack would install its own Temurin JRE 21 (download, unreachable here). DynamoDB
   Local 2.x needs Java >= 17, so the system Java is used (JAVA_HOME, else `java` on PATH).
2. No downloads: if DynamoDB Local is missing, fail with a clear message instead of trying the
   CDN (run infra/localstack/install.sh).
3. The `-javaagent` (LocalStack's ddb-local-loader jar, from LocalStack's artifacts repository,
   not Maven Central) that lifts DynamoDB Local's 20-GSI limit is omitted unless the jar exists.

and one thing in localstack.runtime.server.twisted: its IPv4 listener ignores the host of
GATEWAY_LISTEN ("TODO: interface = host?") and binds 0.0.0.0; it is made to bind the given host.
"""

import os
import shutil
import sys


def _system_java_home() -> str:
    home = os.environ.get("JAVA_HOME", "")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return home
    java = shutil.which("java")
    if not java:
        raise RuntimeError("java not found: DynamoDB Local needs Java >= 17 on PATH or JAVA_HOME")
    return os.path.dirname(os.path.dirname(os.path.realpath(java)))


def _patch_dynamodb() -> None:
    from localstack.services.dynamodb import packages, server

    installer_cls = packages.DynamoDBLocalPackageInstaller

    def get_java_env_vars(self, *args, **kwargs):
        home = _system_java_home()
        return {"JAVA_HOME": home, "PATH": f"{home}/bin:{os.environ['PATH']}"}

    def refuse_download(self, *args, **kwargs):
        raise RuntimeError(
            "DynamoDB Local is not provisioned under FILESYSTEM_ROOT "
            f"({os.environ.get('FILESYSTEM_ROOT')}); run infra/localstack/install.sh"
        )

    installer_cls.get_java_env_vars = get_java_env_vars
    installer_cls._prepare_installation = refuse_download
    installer_cls._install = refuse_download

    original_cmd = server.DynamodbServer._create_shell_command

    def create_shell_command(self):
        cmd = original_cmd(self)
        out = []
        for arg in cmd:
            if arg.startswith("-javaagent:") and not os.path.exists(arg[len("-javaagent:"):]):
                continue
            out.append(arg)
        return out

    server.DynamodbServer._create_shell_command = create_shell_command


def _patch_gateway_bind() -> None:
    import types

    from twisted.internet import endpoints

    from localstack import config
    from localstack.runtime.server import twisted as runtime_twisted

    hosts = {hp.port: hp.host for hp in config.GATEWAY_LISTEN}
    original = endpoints.TCP4ServerEndpoint

    def tcp4(reactor, port, backlog=50, interface=""):
        return original(reactor, port, backlog=backlog, interface=interface or hosts.get(port, ""))

    shim = types.SimpleNamespace(**vars(endpoints))
    shim.TCP4ServerEndpoint = tcp4
    runtime_twisted.endpoints = shim


def main() -> None:
    if not os.environ.get("FILESYSTEM_ROOT"):
        sys.exit("launch.py: FILESYSTEM_ROOT must be set (see infra/emulator/up)")
    # This machine may look like a container (/.dockerenv); LocalStack would then use its
    # container paths (/var/lib/localstack ...) instead of FILESYSTEM_ROOT.
    os.environ.setdefault("OVERRIDE_IN_DOCKER", "0")
    _patch_dynamodb()
    _patch_gateway_bind()
    from localstack.runtime.main import main as localstack_main

    localstack_main()


if __name__ == "__main__":
    main()
