#!/bin/sh
# supervise NAME POLICY SECONDS CMD...: runs CMD as systemd runs a unit with
# Restart=POLICY and RestartSec=SECONDS, for hosts where systemd is not PID 1
# (tests). on-failure restarts after a non-zero exit or a death by a signal
# other than SIGHUP, SIGINT, SIGTERM and SIGPIPE (systemd's clean ones); no
# never restarts. The current pid is in $PVSTACK_RUNDIR/NAME.pid, each start
# and exit in $PVSTACK_RUNDIR/supervise-NAME.log; SIGTERM to the supervisor
# stops the daemon and ends the loop.
name=$1 policy=$2 delay=$3
shift 3
log=$PVSTACK_RUNDIR/supervise-$name.log
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; [ -n "$pid" ] && wait "$pid"; exit 0' TERM INT
while :; do
	"$@" </dev/null >>"$PVSTACK_RUNDIR/$name.log" 2>&1 &
	pid=$!
	echo "$pid" >"$PVSTACK_RUNDIR/$name.pid"
	echo "start $pid" >>"$log"
	wait "$pid"
	rc=$?
	echo "exit $rc" >>"$log"
	case $policy:$rc in
	no:*|on-failure:0|on-failure:129|on-failure:130|on-failure:141|on-failure:143) exit 0 ;;
	esac
	# in the background, so a SIGTERM during the pause is taken at once
	sleep "$delay" &
	pid=""
	wait $!
done
