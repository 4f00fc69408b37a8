"""gunicorn's settings for the API, one file for every way it is started: scripts/run.sh,
docker/Dockerfile and docker/compose.yaml run `gunicorn -c python:server.gunicorn_conf ...`
(a module, so it is in the image with the installed package). Flags on the command line and
GUNICORN_CMD_ARGS still override what is set here."""

#: gunicorn 25.1+ opens a control socket for `gunicornc` at one path per user
#: (~/.gunicorn/gunicorn.ctl, or under XDG_RUNTIME_DIR): a second instance on the machine takes
#: it over and the first to stop deletes it. Nothing here uses gunicornc; the signals do what
#: it does (HUP reloads, TTIN/TTOU add or remove a worker, TERM stops), so it is off.
control_socket_disable = True
