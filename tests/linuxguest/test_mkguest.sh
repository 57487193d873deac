#!/bin/bash
# test_mkguest.sh MKGUEST XSTATE_SO [XL]: builds the Xen 3 notes' Debian domain
# with scripts/mkguest-debian into a temporary directory (through the
# debootstrap cache), checks the images, the config file and the files inside
# root.img, then boots the images directly under user-mode Linux to the login
# prompt, logs in (autologin), writes a file, powers off and finds the file
# in root.img. Every process and file it makes is removed on exit; the
# debootstrap cache ($PVSTACK_CACHEDIR, /var/cache/pvstack) is kept on
# purpose so that later builds in the same run take seconds.
set -u

mkguest=$1
xstate_so=$(realpath "$2")
xl=${3:+$(realpath "$3")}
name=lgtest
ip=192.168.77.2
boot_timeout=${MKGUEST_BOOT_TIMEOUT:-180}
tmp=$(mktemp -d /var/tmp/test_mkguest.XXXXXX)
img=$tmp/img
uml_pid=""
failures=0

# Kills the UML process group (the kernel and its helpers) and removes
# everything under the temporary directory.
cleanup() {
	if [ -n "$uml_pid" ]; then
		kill -9 -- "-$uml_pid" 2>/dev/null
		wait "$uml_pid" 2>/dev/null
	fi
	exec 3>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# Records a failed check and says which.
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# Compares two texts, showing the difference when they differ.
expect_text() {
	local what=$1 want=$2 got=$3
	if [ "$want" != "$got" ]; then
		fail "$what differs:"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2
	fi
}

# Reads a file out of an ext4 image without mounting it.
img_cat() {
	debugfs -R "cat $2" "$1" 2>/dev/null
}

# Checks that bad input is refused with a message naming what is wrong.
check_refusals() {
	local out
	out=$("$mkguest" --dir "$tmp/bad" --ip 10.0.0.300 2>&1) && fail "--ip 10.0.0.300 accepted"
	[[ $out == *"bad IPv4 address '10.0.0.300'"* ]] || fail "bad --ip message: $out"
	out=$("$mkguest" --dir "$tmp/bad" --netmask 255.0.255.0 2>&1) && fail "--netmask 255.0.255.0 accepted"
	[[ $out == *"not a contiguous mask"* ]] || fail "bad --netmask message: $out"
	out=$("$mkguest" --dir "$tmp/bad" --size 12X 2>&1) && fail "--size 12X accepted"
	[[ $out == *"--size: bad size '12X'"* ]] || fail "bad --size message: $out"
	out=$("$mkguest" --dir "$img" --name "$name" --no-install-config 2>&1) && fail "existing images overwritten without --force"
	[[ $out == *"$img/root.img exists; use --force"* ]] || fail "existing image message: $out"
	echo 'name = "someone-else"' >"$PVSTACK_CONFDIR/clash.cfg"
	out=$("$mkguest" --dir "$tmp/bad" --name clash 2>&1) && fail "a different $PVSTACK_CONFDIR/clash.cfg was replaced"
	[[ $out == *"$PVSTACK_CONFDIR/clash.cfg exists and differs; use --force"* ]] || fail "config clash message: $out"
	[ "$(cat "$PVSTACK_CONFDIR/clash.cfg")" = 'name = "someone-else"' ] || fail "clash.cfg was changed"
	[ ! -e "$tmp/bad" ] || fail "a refused build left $tmp/bad behind"
}

# Checks that the mirror is read from apt's configuration as apt orders it:
# comments, deb-src, other suites and disabled deb822 paragraphs skipped.
check_mirror() {
	local a=$tmp/apt got
	mkdir -p "$a/sources.list.d"
	printf '# deb http://commented.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\n' >"$a/sources.list"
	printf 'deb [arch=amd64 signed-by=/k.gpg] http://sec.example/debian-security bookworm-security main\n' >"$a/sources.list.d/00-sec.list"
	printf 'Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\nTypes: deb-src deb\nURIs: http://b.example/debian/\nSuites: bookworm bookworm-updates\n' \
		>"$a/sources.list.d/10-b.sources"
	printf 'deb http://c.example/debian bookworm main\n' >"$a/sources.list.d/20-c.list"
	printf 'deb http://ignored.example/debian bookworm main\n' >"$a/sources.list.d/05-x.list.disabled"
	got=$(MKGUEST_APT_DIR=$a "$mkguest" --print-mirror)
	expect_text "mirror from the apt fixtures" "http://b.example/debian" "$got"
	printf 'deb [trusted=yes] http://a.example/debian/ bookworm main\n' >"$a/sources.list.d/01-a.list"
	got=$(MKGUEST_APT_DIR=$a "$mkguest" --print-mirror)
	expect_text "mirror from the first file in apt's order" "http://a.example/debian" "$got"
	rm -rf "$a/sources.list.d"/*
	got=$(MKGUEST_APT_DIR=$a "$mkguest" --dir "$tmp/bad" --no-install-config 2>&1) && fail "a build without a mirror started"
	[[ $got == *"no 'deb' source for bookworm in $a/sources.list"* ]] || fail "no-mirror message: $got"
}

# Checks sizes, file system types and labels of the four images.
check_images() {
	local f want label
	for f in root:1024 var:512 home:128 swap:256; do
		want=$((${f#*:} * 1024 * 1024))
		[ "$(stat -c %s "$img/${f%:*}.img")" = "$want" ] || fail "${f%:*}.img is not $want bytes"
	done
	for f in root var home; do
		label=$(dumpe2fs -h "$img/$f.img" 2>/dev/null | sed -n 's/^Filesystem volume name: *//p')
		[ "$label" = "$f" ] || fail "$f.img: ext4 label '$label', want '$f'"
		dumpe2fs -h "$img/$f.img" 2>/dev/null | grep -q '^Filesystem features:.*extent' ||
			fail "$f.img is not ext4"
	done
	[ "$(blkid -o value -s TYPE "$img/swap.img")" = swap ] || fail "swap.img has no swap signature"
	[ "$(stat -c %a "$img/root.img")" = 600 ] || fail "root.img is readable by others"
}

# Checks the config file, byte for byte, in the notes' shape.
check_config() {
	expect_text "$name.cfg" "kernel = \"/usr/bin/linux.uml\"
memory = 128
name = \"$name\"
vif = [ 'ip=$ip' ]
disk = [ \\
    'file:$img/root.img,hda1,w', \\
    'file:$img/var.img,hda2,w',  \\
    'file:$img/home.img,hda3,w', \\
    'file:$img/swap.img,hda4,w'  \\
]
root = \"/dev/hda1 ro\"" "$(cat "$img/$name.cfg")"
	cmp -s "$img/$name.cfg" "$tmp/etc-xen/$name.cfg" || fail "\$PVSTACK_CONFDIR/$name.cfg differs from $img/$name.cfg"
	[ -n "$xl" ] || return 0
	# Our xl reads it as the notes' domain: four disks, the UML kernel.
	local out n
	out=$(PVSTACK_RUNDIR=$tmp/run "$xl" create -n "$img/$name.cfg" 2>&1) || fail "xl create -n: $out"
	[[ $out == *"kernel: /usr/bin/linux.uml"* ]] || fail "xl create -n: kernel is not linux.uml: $out"
	for n in 1 2 3 4; do
		grep -q "^disk\[$((n - 1))\]: target=$img/[a-z]*.img .*vdev=hda$n " <<<"$out" ||
			fail "xl create -n: no disk hda$n: $out"
	done
}

# Checks the guest's files as the booted kernel will find them.
check_guest_files() {
	expect_text "/etc/hostname" "$name" "$(img_cat "$img/root.img" /etc/hostname)"
	expect_text "/etc/fstab" "# The config's disks in order: hda1 root.img, hda2 var.img, hda3 home.img,
# hda4 swap.img, named by their labels: the shim gives them to user-mode
# Linux as virtio-blk (vda, vdb, ...), the kernel booted directly as ubd.
# <file system> <mount point> <type> <options> <dump> <pass>
LABEL=root	/	ext4	errors=remount-ro	0	1
LABEL=var	/var	ext4	defaults	0	2
LABEL=home	/home	ext4	defaults	0	2
LABEL=swap	none	swap	sw	0	0" "$(img_cat "$img/root.img" /etc/fstab)"
	expect_text "eth0 network" "[Match]
Name=eth0

[Network]
Address=$ip/24
Gateway=192.168.77.1" "$(img_cat "$img/root.img" /etc/systemd/network/10-eth0.network)"
	img_cat "$img/root.img" /etc/hosts | grep -q "^$ip	$name\$" || fail "/etc/hosts lacks '$ip $name'"
	img_cat "$img/root.img" /etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf |
		grep -q -- '--autologin root' || fail "no autologin drop-in for serial-getty@ttyS0"
	# /var lives on var.img: the root image holds only its mount point.
	local d
	for d in /var /home; do
		[ -z "$(debugfs -R "ls -p $d" "$img/root.img" 2>/dev/null |
			awk -F/ 'NF > 5 && $6 != "." && $6 != ".."')" ] || fail "$d on root.img is not an empty mount point"
	done
	img_cat "$img/var.img" /lib/dpkg/status | grep -q . || fail "var.img holds no /var/lib/dpkg/status"
	local status
	status=$(img_cat "$img/var.img" /lib/dpkg/status)
	grep -q '^Package: systemd-sysv$' <<<"$status" || fail "systemd-sysv is not installed (var.img /lib/dpkg/status)"
	local p
	for p in console-setup console-common console-data kbd keyboard-configuration; do
		grep -q "^Package: $p\$" <<<"$status" && fail "console package $p is installed"
	done
}

# Waits up to $2 seconds for the text $1 in the console log.
wait_console() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -a -q -- "$1" "$tmp/console.log" && return 0
		kill -0 "$uml_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Starts UML on the images in $1 as a plain host process (the baseline the
# boot benchmark compares against) and waits for the login prompt. The
# shim's XSAVE fix-up is preloaded, as the shim does: without it UML 6.1
# panics at init on hosts with AMX (guest/umlshim/uml_xstate.c).
start_guest() {
	local dir=$1 start ms
	rm -rf "$tmp/uml" "$tmp/console.in" "$tmp/console.log"
	mkdir -p "$tmp/uml"
	mkfifo "$tmp/console.in"
	exec 3<>"$tmp/console.in"
	start=$(date +%s%N)
	TMPDIR=$tmp/uml LD_PRELOAD=$xstate_so setsid /usr/bin/linux.uml \
		ubd0="$dir/root.img" ubd1="$dir/var.img" ubd2="$dir/home.img" ubd3="$dir/swap.img" \
		root=/dev/ubda ro mem=128M con=null ssl0=fd:0,fd:1 console=ttyS0 \
		uml_dir="$tmp/uml" umid=mkguest \
		<&3 >"$tmp/console.log" 2>&1 &
	uml_pid=$!
	if ! wait_console 'login:' "$boot_timeout"; then
		fail "no login prompt within ${boot_timeout}s; console:"
		tail -n 40 "$tmp/console.log" >&2
		return 1
	fi
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "boot to login prompt: ${ms} ms"
}

# Types poweroff, waits for UML to exit and checks the shutdown was clean.
poweroff_guest() {
	local i
	printf 'poweroff\n' >&3
	for ((i = 0; i < 600; i++)); do
		kill -0 "$uml_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$uml_pid" 2>/dev/null; then
		fail "the guest did not power off within 60s"
		return 1
	fi
	wait "$uml_pid" || fail "linux.uml exited with status $?"
	kill -9 -- "-$uml_pid" 2>/dev/null
	uml_pid=""
	exec 3>&-
	grep -a -q 'reboot: System halted' "$tmp/console.log" || fail "no 'System halted' on the console"
	if grep -a -q 'FAILED' "$tmp/console.log"; then
		fail "a unit failed during boot or shutdown:"
		grep -a 'FAILED' "$tmp/console.log" >&2
	fi
}

# Boots the first image: root is logged in on the console without a
# password; a file written there must be in root.img after poweroff.
boot_autologin() {
	local marker=mkguest-$$-$RANDOM
	start_guest "$img" || return
	wait_console "root@$name:" 60 || { fail "autologin shell prompt did not appear"; return; }
	printf 'uname -a; echo %s > /root/marker; sync\n' "$marker" >&3
	wait_console "Linux $name .*GNU/Linux" 30 || fail "'uname -a' did not show Linux $name"
	sleep 1
	poweroff_guest || return
	expect_text "/root/marker after poweroff" "$marker" "$(img_cat "$img/root.img" /root/marker)"
}

# Boots the second image, built with --root-password: the console asks for
# the password, refuses a wrong one and accepts the right one.
boot_password() {
	local dir=$1 pw=$2
	start_guest "$dir" || return
	printf 'root\n' >&3
	wait_console 'Password:' 30 || { fail "no Password: prompt"; return; }
	printf 'wrong-%s\n' "$pw" >&3
	wait_console 'Login incorrect' 30 || { fail "a wrong password was not refused"; return; }
	# login asks for the user name again after a failure.
	wait_console "$name login: *\$" 30
	sleep 1
	printf 'root\n' >&3
	sleep 2
	printf '%s\n' "$pw" >&3
	wait_console "root@$name:" 60 || { fail "the root password was not accepted"; return; }
	poweroff_guest
}

main() {
	local t0 t1 pw=pw-$RANDOM$RANDOM
	[ "$(id -u)" = 0 ] || { echo "test_mkguest: needs root" >&2; exit 77; }
	export PVSTACK_CONFDIR=$tmp/etc-xen
	t0=$(date +%s)
	"$mkguest" --dir "$img" --name "$name" --ip "$ip" --gateway 192.168.77.1 --autologin ||
		{ fail "mkguest-debian failed"; exit 1; }
	t1=$(date +%s)
	echo "image built in $((t1 - t0)) s"
	check_refusals
	check_mirror
	check_images
	check_config
	check_guest_files
	# A second build from the cache: DHCP and the default config shape.
	t0=$(date +%s)
	MKGUEST_ROOT_PASSWORD=$pw "$mkguest" --dir "$tmp/img2" --name "$name" --no-install-config \
		--size 700M >/dev/null 2>&1 || fail "second build failed"
	echo "second build (cache) in $(($(date +%s) - t0)) s"
	grep -q "^vif = \[ '' \]\$" "$tmp/img2/$name.cfg" || fail "DHCP build: vif is not [ '' ]"
	img_cat "$tmp/img2/root.img" /etc/systemd/network/10-eth0.network | grep -q '^DHCP=ipv4$' ||
		fail "DHCP build: eth0 is not on DHCP"
	[ "$(stat -c %s "$tmp/img2/root.img")" = $((700 * 1024 * 1024)) ] || fail "--size 700M not honoured"
	img_cat "$tmp/img2/root.img" /etc/shadow | grep -q '^root:[$]6[$]' || fail "--root-password: root has no SHA-512 hash"
	! debugfs -R 'ls /etc/systemd/system/serial-getty@ttyS0.service.d' "$tmp/img2/root.img" 2>/dev/null |
		grep -q autologin || fail "--root-password build has console autologin"
	boot_autologin
	boot_password "$tmp/img2" "$pw"
	[ "$failures" = 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
	echo "all checks passed"
}

main "$@"
