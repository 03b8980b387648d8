from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from activities.documents import demo_tsa


class Command(BaseCommand):
    help = (
        "Serve the demo RFC 3161 timestamp authority (not a real one: for `make run`) on "
        "--bind, with its keys kept in --folder; --init-only makes the keys and writes the "
        "root to trust (root.pem) without serving."
    )

    def add_arguments(self, parser):
        parser.add_argument("--folder", required=True, help="where its keys are kept")
        parser.add_argument("--bind", default="127.0.0.1:8119", help="host:port to serve on")
        parser.add_argument("--init-only", action="store_true")

    def handle(self, *, folder, bind, init_only, **options):
        authority = demo_tsa.Authority.in_folder(Path(folder))
        if init_only:
            self.stdout.write(f"demo timestamp authority: {Path(folder) / 'root.pem'}")
            return
        host, _sep, port = bind.rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"--bind wants host:port, not {bind!r}")
        server = demo_tsa.Server(authority, host, int(port))
        self.stdout.write(f"demo timestamp authority on {server.url}")
        try:
            server.http.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.http.server_close()
