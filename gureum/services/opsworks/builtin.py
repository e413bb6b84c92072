"""The built-in recipes every layer runs before its custom ones.  Pure: shell text.

They do what OpsWorks' built-in Chef recipes did for a custom layer, in
busybox ``sh``, with the environment the command gives every recipe
(``OPSWORKS_*``, see bundle.py):

``opsworks_initial_setup::default``   folders, the instance's identity file
``opsworks_stack_state_sync::default`` (Configure) the topology:
                                       ``/etc/opsworks/attributes.json`` and
                                       ``/etc/opsworks/hosts`` (``ip hostname``
                                       of every online instance)
``deploy::default``   unpack the app's archive into
                      ``/srv/www/<app>/releases/<release>``, run the release's
                      ``deploy/before_symlink.sh``, point ``current`` at it,
                      keep the 5 newest releases, restart the app
``deploy::rollback``  ``current`` back to the previous release (the rolled
                      back one is removed), restart
``deploy::undeploy``  stop the app and remove ``/srv/www/<app>``
``deploy::start|stop|restart``  the app server
``opsworks_shutdown::default``  stop every app server

The app server: a ``static`` app is served by busybox ``httpd`` on
``$OPSWORKS_BIND_IP:$OPSWORKS_APP_PORT`` (port 80 unless the app's
Environment sets ``PORT``) from ``current/<DocumentRoot>``; other app types
start with the release's ``deploy/restart.sh`` (use ``opsworks-daemon`` there
for servers) and stop with ``deploy/stop.sh`` or by the pid file
``/srv/www/<app>/shared/pids/server.pid``.
"""

from __future__ import annotations

KEEP_RELEASES = 5

_SERVER = r"""
_pidfile="$OPSWORKS_APP_DIR/shared/pids/server.pid"
app_stop() {
  if [ -f "$OPSWORKS_APP_DIR/current/deploy/stop.sh" ]; then
    (cd "$OPSWORKS_APP_DIR/current" && sh deploy/stop.sh) || echo "deploy/stop.sh exited $?"
  fi
  if [ -f "$_pidfile" ]; then
    pid=$(cat "$_pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      i=0
      while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
      kill -9 "$pid" 2>/dev/null
      echo "stopped $OPSWORKS_APP_SHORTNAME (pid $pid)"
    fi
    rm -f "$_pidfile"
  fi
}
app_start() {
  if [ ! -e "$OPSWORKS_APP_DIR/current" ]; then echo "app $OPSWORKS_APP_SHORTNAME is not deployed"; return 1; fi
  if [ "$OPSWORKS_APP_TYPE" = static ]; then
    docroot="$OPSWORKS_APP_DIR/current${OPSWORKS_DOCUMENT_ROOT:+/$OPSWORKS_DOCUMENT_ROOT}"
    mkdir -p "$OPSWORKS_APP_DIR/shared/pids"
    opsworks-daemon "$_pidfile" httpd -f -p "$OPSWORKS_BIND_IP:$OPSWORKS_APP_PORT" -h "$docroot"
    sleep 0.3
    if ! kill -0 "$(cat "$_pidfile")" 2>/dev/null; then
      echo "httpd for $OPSWORKS_APP_SHORTNAME exited at once:"; tail -n 5 "$_pidfile.log"; return 1
    fi
    echo "httpd serves $docroot on port $OPSWORKS_APP_PORT (pid $(cat "$_pidfile"))"
  elif [ -f "$OPSWORKS_APP_DIR/current/deploy/restart.sh" ]; then
    (cd "$OPSWORKS_APP_DIR/current" && sh deploy/restart.sh)
  else
    echo "no deploy/restart.sh in the release of $OPSWORKS_APP_SHORTNAME: nothing to start"
  fi
}
"""

_INITIAL_SETUP = r"""
mkdir -p "$OPSWORKS_ROOT/srv/www" "$OPSWORKS_ROOT/etc/opsworks" "$OPSWORKS_ROOT/var/log/aws/opsworks"
echo "$OPSWORKS_HOSTNAME" > "$OPSWORKS_ROOT/etc/opsworks/hostname"
echo "instance $OPSWORKS_INSTANCE_ID ($OPSWORKS_HOSTNAME, $OPSWORKS_PRIVATE_IP) of stack $OPSWORKS_STACK_NAME; layers: $OPSWORKS_LAYERS"
"""

_STATE_SYNC = r"""
dir="$OPSWORKS_ROOT/etc/opsworks"
mkdir -p "$dir"
cp "$OPSWORKS_ATTRIBUTES" "$dir/attributes.json"
: > "$dir/hosts.new"
for h in $OPSWORKS_ONLINE_HOSTS; do echo "${h#*=} ${h%%=*}" >> "$dir/hosts.new"; done
mv -f "$dir/hosts.new" "$dir/hosts"
echo "online instances: ${OPSWORKS_ONLINE_HOSTS:-(none)}"
"""

_DEPLOY = _SERVER + r"""
set -e
dir="$OPSWORKS_APP_DIR"; rel="$OPSWORKS_RELEASE_DIR"
if [ -z "$OPSWORKS_APP_ARCHIVE" ]; then echo "app $OPSWORKS_APP_SHORTNAME has no source to deploy"; exit 1; fi
mkdir -p "$dir/releases" "$dir/shared/pids" "$dir/shared/log"
rm -rf "$rel.tmp"; mkdir -p "$rel.tmp"
case "$OPSWORKS_APP_ARCHIVE_FORMAT" in
  zip) unzip -o -q "$OPSWORKS_APP_ARCHIVE" -d "$rel.tmp" ;;
  tgz) tar -xzf "$OPSWORKS_APP_ARCHIVE" -C "$rel.tmp" ;;
  tbz) tar -xjf "$OPSWORKS_APP_ARCHIVE" -C "$rel.tmp" ;;
  *) tar -xf "$OPSWORKS_APP_ARCHIVE" -C "$rel.tmp" ;;
esac
rm -rf "$rel"; mv "$rel.tmp" "$rel"
echo "unpacked $OPSWORKS_APP_SHORTNAME into $rel"
if [ -f "$rel/deploy/before_symlink.sh" ]; then (cd "$rel" && sh deploy/before_symlink.sh); fi
ln -sfn "$rel" "$dir/current"
ls -1 "$dir/releases" | sort -r | tail -n +__KEEP_NEXT__ | while read -r old; do
  rm -rf "$dir/releases/$old"; echo "removed old release $old"
done
set +e
app_stop
app_start
"""

_ROLLBACK = _SERVER + r"""
dir="$OPSWORKS_APP_DIR"
cur=$(readlink "$dir/current" 2>/dev/null); cur="${cur##*/}"
prev=""
for r in $(ls -1 "$dir/releases" 2>/dev/null | sort); do
  [ "$r" = "$cur" ] && break
  prev="$r"
done
if [ -z "$prev" ]; then echo "no release of $OPSWORKS_APP_SHORTNAME before ${cur:-(none)} to roll back to"; exit 1; fi
ln -sfn "$dir/releases/$prev" "$dir/current"
rm -rf "$dir/releases/$cur"
echo "rolled $OPSWORKS_APP_SHORTNAME back from $cur to $prev"
app_stop
app_start
"""

_UNDEPLOY = _SERVER + r"""
app_stop
rm -rf "$OPSWORKS_APP_DIR"
echo "undeployed $OPSWORKS_APP_SHORTNAME"
"""

_SHUTDOWN = r"""
for pidfile in "$OPSWORKS_ROOT"/srv/www/*/shared/pids/*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then echo "stopped ${pidfile#$OPSWORKS_ROOT} (pid $pid)"; fi
  rm -f "$pidfile"
done
"""

RECIPES: dict[str, str] = {
    "opsworks_initial_setup::default": _INITIAL_SETUP,
    "opsworks_stack_state_sync::default": _STATE_SYNC,
    "deploy::default": _DEPLOY.replace("__KEEP_NEXT__", str(KEEP_RELEASES + 1)),
    "deploy::rollback": _ROLLBACK,
    "deploy::undeploy": _UNDEPLOY,
    "deploy::start": _SERVER + "app_start\n",
    "deploy::stop": _SERVER + "app_stop\n",
    "deploy::restart": _SERVER + "app_stop\napp_start\n",
    "opsworks_shutdown::default": _SHUTDOWN,
}


def script(name: str) -> str:
    return "#!/bin/sh\n# built-in recipe " + name + " (Gureum)\n" + RECIPES[name].lstrip("\n")
