# vela-os initramfs: install to a disk (vela.install_dev=DEV) and boot an
# installed disk (vela.root_dev=LABEL=VELA-OS). Sourced by /init, which
# defines log, fail and report.
#
# Under BIOS firmware: MBR, disk identifier 0x56454c41 "VELA":
#   1: VELA-OS    ext4, 1 GiB, bootable: vmlinuz, initramfs, rootfs.squashfs,
#                 rootfs.squashfs.sha256, extlinux/ (extlinux.conf, ldlinux.*)
#   2: VELA-STATE ext4, the rest: root/upper + root/work (the overlay upper
#                 layer of /: everything the system writes), docker/ (bound
#                 at /var/lib/docker), vela/installed (first boot done).
# Under UEFI firmware (/sys/firmware/efi): GPT, disk GUID 56454c41-...:
#   1: VELA-EFI   EFI system partition, FAT32, 256 MiB: EFI/BOOT/BOOTX64.EFI
#                 (systemd-boot, at the removable path: no NVRAM entry),
#                 loader/loader.conf, loader/entries/vela-os.conf, vmlinuz,
#                 initramfs
#   2: VELA-OS    ext4, 1 GiB: rootfs.squashfs, rootfs.squashfs.sha256
#   3: VELA-STATE ext4, the rest, as under BIOS.
# The boot code (MBR + extlinux, or BOOTX64.EFI) is written last, after
# Ignition: a disk whose install did not finish does not boot, and is
# reinstalled.

VELA_DISK_ID=ALEV # 0x56454c41 as the 4 bytes at offset 440 of the MBR
BOOT_LABEL=VELA-OS
STATE_LABEL=VELA-STATE
BOOT_SECTORS=2097152 # 1 GiB
MIN_DISK_SECTORS=8388608 # 4 GiB
EFI_LABEL=VELA-EFI
EFI_SECTORS=524288 # 256 MiB
VELA_GUID_PREFIX=56454c41- # "VELA": the GPT disk GUIDs Vela writes start so
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
LINUX_TYPE=0FC63DAF-8483-4772-8E79-3D69D8477DE4
SYSTEMD_BOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi # from systemd-boot-efi

# root_tool PATH ARGS runs a tool of the root image (at /run/vela/lower)
# with the root image's own libraries: sfdisk, mke2fs, blkid, extlinux.
root_tool() {
	p=$1
	shift
	MKE2FS_CONFIG=/run/vela/lower/etc/mke2fs.conf \
		/run/vela/lower/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
		--library-path /run/vela/lower/usr/lib/x86_64-linux-gnu "/run/vela/lower$p" "$@"
}

# part_dev DEV N is the device of partition N of DEV.
part_dev() {
	case "$1" in
	*[0-9]) echo "${1}p$2" ;;
	*) echo "$1$2" ;;
	esac
}

# wait_for PATH: up to 30 s for a device node.
wait_for() {
	i=0
	while [ ! -b "$1" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b "$1" ]
}

# partitions NAME lists the partitions (kernel names) of disk NAME.
partitions() {
	for p in /sys/class/block/"$1"/"$1"*; do
		[ -e "$p/partition" ] && echo "${p##*/}"
	done
}

# uefi is true when this boot came through UEFI firmware: the install then
# writes the GPT layout with an EFI system partition.
uefi() { [ -d /sys/firmware/efi ]; }

# mbr_table and gpt_table GUID are the sfdisk scripts of the two layouts.
mbr_table() {
	printf 'label: dos\nlabel-id: 0x56454c41\nunit: sectors\n\nstart=2048, size=%d, type=83, bootable\nstart=%d, type=83\n' \
		$BOOT_SECTORS $((2048 + BOOT_SECTORS))
}
gpt_table() {
	printf 'label: gpt\nlabel-id: %s\nunit: sectors\n\n' "$1"
	printf 'start=2048, size=%d, type=%s, name="%s"\n' $EFI_SECTORS $ESP_TYPE $EFI_LABEL
	printf 'start=%d, size=%d, type=%s, name="%s"\n' $((2048 + EFI_SECTORS)) $BOOT_SECTORS $LINUX_TYPE $BOOT_LABEL
	printf 'start=%d, type=%s, name="%s"\n' $((2048 + EFI_SECTORS + BOOT_SECTORS)) $LINUX_TYPE $STATE_LABEL
}

# vela_guid is a new random GPT disk GUID that says "VELA" in its first field.
vela_guid() {
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$VELA_GUID_PREFIX${u#*-}"
}

# ext_label DEV is the label of the ext2/3/4 file system on DEV (nothing if
# DEV holds no ext file system); busybox has no blkid.
ext_label() {
	[ "$(dd if="$1" bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 53ef ] || return 0
	dd if="$1" bs=1 skip=1144 count=16 2>/dev/null | tr -d '\000'
}

# state_part NAME is the VELA-STATE partition of disk NAME, whatever its number.
state_part() {
	for p in $(partitions "$1"); do
		if [ "$(ext_label /dev/"$p")" = "$STATE_LABEL" ]; then
			echo /dev/"$p"
			return 0
		fi
	done
	return 1
}

# check_install_disk DEV sets DISK_KIND to blank or vela, or refuses (fail)
# a disk holding anything Vela did not write: it never wipes an unknown disk.
check_install_disk() {
	dev=$1
	name=${dev#/dev/}
	wait_for "$dev" && [ -e /sys/class/block/"$name" ] ||
		fail "install disk $dev: no such disk here (disks: $(ls /sys/block | grep -v -E '^(loop|ram)' | tr '\n' ' ')); machines[].disk must be a kernel name such as /dev/sda, /dev/vda or /dev/nvme0n1 (the initramfs has no udev: /dev/disk/by-* links do not exist)"
	[ ! -e /sys/class/block/"$name"/partition ] || fail "install disk $dev is a partition; machines[].disk must name a whole disk"
	[ "$(cat /sys/class/block/"$name"/ro)" = 0 ] || fail "install disk $dev is read-only"
	size=$(cat /sys/class/block/"$name"/size)
	[ "$size" -ge $MIN_DISK_SECTORS ] ||
		fail "install disk $dev has $((size / 2048)) MiB; vela-os needs at least $((MIN_DISK_SECTORS / 2048)) MiB"
	parts=$(partitions "$name")
	sig=$(root_tool /usr/sbin/blkid -p -o export "$dev" 2>/dev/null | grep -E '^(PTTYPE|TYPE|LABEL)=' | tr '\n' ' ')
	sig=${sig% }
	if [ -z "$sig" ] && [ -z "$parts" ]; then
		DISK_KIND=blank
		return 0
	fi
	found="$sig"
	foreign=
	case "$sig" in
	*PTTYPE=dos*)
		[ "$(dd if="$dev" bs=1 skip=440 count=4 2>/dev/null)" = "$VELA_DISK_ID" ] || foreign=1
		;;
	*PTTYPE=gpt*)
		case "$(root_tool /usr/sbin/blkid -p -o value -s PTUUID "$dev" 2>/dev/null)" in
		"$VELA_GUID_PREFIX"*) ;;
		*) foreign=1 ;;
		esac
		;;
	*) foreign=1 ;;
	esac
	for p in $parts; do
		l=$(root_tool /usr/sbin/blkid -p -o value -s LABEL /dev/"$p" 2>/dev/null)
		t=$(root_tool /usr/sbin/blkid -p -o value -s TYPE /dev/"$p" 2>/dev/null)
		found="$found; $p: ${t:-no filesystem}${l:+ label $l}"
		case "$l" in
		"$BOOT_LABEL" | "$STATE_LABEL" | "$EFI_LABEL") ;;
		"") [ -z "$t" ] || foreign=1 ;;
		*) foreign=1 ;;
		esac
	done
	if [ -n "$foreign" ]; then
		fail "install disk $dev holds data Vela did not write ($found); refusing to wipe it. If it may be erased, wipe it (wipefs -a $dev, e.g. from the vela.debug shell) and boot again, or set machines[].disk to another disk"
	fi
	DISK_KIND=vela
}

# install_disk DEV writes vela-os to DEV: partitions, file systems, kernel,
# initramfs and root image. The root image then runs from the disk copy and
# UPPER_DIR points at VELA-STATE. finish_install completes the install.
install_disk() {
	dev=$1
	check_install_disk "$dev"
	[ -f /run/vela/lower/boot/vela-initramfs.img ] ||
		fail "the root image has no /boot/vela-initramfs.img (built by an older vela); rebuild vela-os"
	if uefi; then
		LAYOUT=gpt
		[ -f /run/vela/lower$SYSTEMD_BOOT ] ||
			fail "this machine boots through UEFI and the root image has no $SYSTEMD_BOOT (built by an older vela); rebuild vela-os"
		log "install: $dev ($((size / 2048)) MiB, $DISK_KIND): partitioning (UEFI, GPT: $EFI_LABEL 256 MiB, $BOOT_LABEL 1 GiB, $STATE_LABEL the rest)"
	else
		LAYOUT=mbr
		log "install: $dev ($((size / 2048)) MiB, $DISK_KIND): partitioning ($BOOT_LABEL 1 GiB, $STATE_LABEL the rest)"
	fi
	# From here until finish_install writes the boot code the disk does not
	# boot. The last MiB goes too: an old backup GPT header lives there.
	dd if=/dev/zero of="$dev" bs=1M count=1 2>/dev/null &&
		dd if=/dev/zero of="$dev" bs=512 seek=$((size - 2048)) count=2048 2>/dev/null && sync ||
		fail "install disk $dev: clearing the partition table failed"
	if [ $LAYOUT = gpt ]; then
		table=$(gpt_table "$(vela_guid)")
		pe=$(part_dev "$dev" 1)
		p1=$(part_dev "$dev" 2)
		p2=$(part_dev "$dev" 3)
	else
		table=$(mbr_table)
		pe=
		p1=$(part_dev "$dev" 1)
		p2=$(part_dev "$dev" 2)
	fi
	echo "$table" | root_tool /usr/sbin/sfdisk --quiet --wipe always --wipe-partitions always "$dev" >/run/vela/sfdisk.log 2>&1 ||
		fail "install disk $dev: sfdisk failed: $(tail -n 3 /run/vela/sfdisk.log)"
	for p in $pe $p1 $p2; do
		wait_for "$p" || fail "install disk $dev: partition $p did not appear"
	done
	# ^64bit: extlinux reads ext4 without the 64bit feature only.
	root_tool /usr/sbin/mke2fs -q -F -t ext4 -O ^64bit -E nodiscard -L $BOOT_LABEL "$p1" >/run/vela/mkfs.log 2>&1 &&
		root_tool /usr/sbin/mke2fs -q -F -t ext4 -E nodiscard -L $STATE_LABEL "$p2" >>/run/vela/mkfs.log 2>&1 ||
		fail "install disk $dev: mke2fs failed: $(tail -n 3 /run/vela/mkfs.log)"
	mkdir -p /run/vela/boot /run/vela/state
	mount -t ext4 "$p1" /run/vela/boot && mount -t ext4 "$p2" /run/vela/state ||
		fail "install disk $dev: mounting the new file systems failed"
	# The kernel and initramfs go where the boot loader reads them: VELA-OS
	# for extlinux, the EFI system partition for systemd-boot.
	kdir=/run/vela/boot
	if [ $LAYOUT = gpt ]; then
		root_tool /usr/sbin/mkfs.fat -F 32 -n $EFI_LABEL "$pe" >>/run/vela/mkfs.log 2>&1 ||
			fail "install disk $dev: mkfs.fat of the EFI system partition failed: $(tail -n 3 /run/vela/mkfs.log)"
		kdir=/run/vela/efi
		mkdir -p $kdir
		mount -t vfat "$pe" $kdir || fail "install disk $dev: mounting the EFI system partition $pe failed"
	fi
	kver=$(uname -r)
	log "install: writing kernel, initramfs and root image to $p1${pe:+ and $pe}"
	cp /run/vela/lower/boot/vmlinuz-"$kver" $kdir/vmlinuz &&
		cp /run/vela/lower/boot/vela-initramfs.img $kdir/initramfs &&
		cp /run/vela/rootfs.squashfs /run/vela/boot/rootfs.squashfs &&
		echo "$ROOTFS_SHA  rootfs.squashfs" >/run/vela/boot/rootfs.squashfs.sha256 &&
		mkdir -p /run/vela/state/root/upper /run/vela/state/root/work /run/vela/state/docker /run/vela/state/vela &&
		sync || fail "install disk $dev: writing the files failed (disk full or failing?)"
	# Run from the disk copy and free the RAM copy.
	umount /run/vela/lower &&
		rm /run/vela/rootfs.squashfs &&
		ln -s boot/rootfs.squashfs /run/vela/rootfs.squashfs &&
		mount -t squashfs -o ro,loop /run/vela/boot/rootfs.squashfs /run/vela/lower ||
		fail "install disk $dev: mounting the root image from the disk failed"
	UPPER_DIR=/run/vela/state/root
	INSTALLED_DEV=$dev
}

# disk_cmdline CMDLINE is the kernel command line for the installed disk:
# CMDLINE (this boot's) without the network root and Ignition, with
# vela.root_dev.
disk_cmdline() {
	out=
	for w in $1; do
		case "$w" in
		vela.rootfs=* | vela.rootfs_sha256=* | vela.install_dev=* | vela.root_dev=* | ignition.* | initrd=* | BOOT_IMAGE=*) ;;
		*) out="$out $w" ;;
		esac
	done
	echo "${out# } vela.root_dev=LABEL=$BOOT_LABEL"
}

# finish_install runs after Ignition: records the first boot, writes the
# boot loader (BIOS: extlinux in VELA-OS and syslinux's MBR code; UEFI:
# systemd-boot in the EFI system partition) and reports installed.
finish_install() {
	dev=$INSTALLED_DEV
	# /var/lib/docker is VELA-STATE/docker, bound by the initramfs, not a tmpfs.
	sed -i 's|^tmpfs /var/lib/docker |#&|' /sysroot/etc/fstab &&
		echo "# installed on disk: the initramfs binds VELA-STATE/docker at /var/lib/docker" >>/sysroot/etc/fstab ||
		fail "install disk $dev: editing /etc/fstab failed"
	echo "installed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $dev, root image sha256 $ROOTFS_SHA" >/run/vela/state/vela/installed
	if [ "$LAYOUT" = gpt ]; then
		write_systemd_boot "$dev"
	else
		write_extlinux "$dev"
	fi
	mount -o remount,ro /run/vela/boot
	log "install: $dev installed; it boots from disk from now on (vela.root_dev=LABEL=$BOOT_LABEL)"
	report installed "vela-os installed on $dev ($((size / 2048)) MiB); boots from disk next time"
}

# write_extlinux DEV makes DEV boot under BIOS: extlinux.conf and extlinux
# in VELA-OS, then syslinux's MBR boot code (the very last write).
write_extlinux() {
	dev=$1
	mkdir -p /run/vela/boot/extlinux
	cat >/run/vela/boot/extlinux/extlinux.conf <<EOF
# vela-os installed on $dev; written by the vela-os initramfs
SERIAL 0 115200
DEFAULT vela-os
PROMPT 0
TIMEOUT 0
LABEL vela-os
  LINUX /vmlinuz
  INITRD /initramfs
  APPEND $(disk_cmdline "$(cat /proc/cmdline)")
EOF
	sync
	root_tool /usr/bin/extlinux --install /run/vela/boot/extlinux >/run/vela/extlinux.log 2>&1 ||
		fail "install disk $dev: extlinux --install failed: $(tail -n 3 /run/vela/extlinux.log)"
	sync
	dd if=/run/vela/lower/usr/lib/syslinux/mbr/mbr.bin of="$dev" bs=440 count=1 conv=notrunc 2>/dev/null && sync ||
		fail "install disk $dev: writing the MBR boot code failed"
}

# write_systemd_boot DEV makes DEV boot under UEFI: systemd-boot's loader
# configuration and entry in the EFI system partition, then systemd-boot
# itself at the removable-media path EFI/BOOT/BOOTX64.EFI (the very last
# write; firmware boots that path without an NVRAM entry).
write_systemd_boot() {
	dev=$1
	mkdir -p /run/vela/efi/loader/entries /run/vela/efi/EFI/BOOT
	printf '# written by the vela-os initramfs\ndefault vela-os.conf\ntimeout 0\neditor no\n' >/run/vela/efi/loader/loader.conf &&
		cat >/run/vela/efi/loader/entries/vela-os.conf <<EOF || fail "install disk $dev: writing the systemd-boot configuration failed"
# vela-os installed on $dev; written by the vela-os initramfs
title vela-os
linux /vmlinuz
initrd /initramfs
options $(disk_cmdline "$(cat /proc/cmdline)")
EOF
	sync
	cp /run/vela/lower$SYSTEMD_BOOT /run/vela/efi/EFI/BOOT/BOOTX64.NEW && sync &&
		mv /run/vela/efi/EFI/BOOT/BOOTX64.NEW /run/vela/efi/EFI/BOOT/BOOTX64.EFI && sync &&
		umount /run/vela/efi ||
		fail "install disk $dev: writing systemd-boot to EFI/BOOT/BOOTX64.EFI failed"
}

# boot_from_disk mounts the installed system named by vela.root_dev= (its
# VELA-OS partition) and sets UPPER_DIR to its VELA-STATE partition.
boot_from_disk() {
	log "vela.root_dev=$ROOT_DEV: booting the installed system"
	i=0
	while ! boot=$(findfs "$ROOT_DEV" 2>/dev/null) && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$boot" ] || fail "no partition $ROOT_DEV (disks: $(ls /sys/block | grep -v -E '^(loop|ram)' | tr '\n' ' ')); network-boot this machine to reinstall it"
	disk=$(basename "$(readlink -f /sys/class/block/"${boot#/dev/}"/..)")
	state=$(state_part "$disk") ||
		fail "/dev/$disk has no $STATE_LABEL partition (partitions: $(partitions "$disk" | tr '\n' ' ')); network-boot this machine to reinstall it"
	mkdir -p /run/vela/boot /run/vela/state
	mount -t ext4 -o ro "$boot" /run/vela/boot || fail "mount $boot ($ROOT_DEV) failed"
	mount -t ext4 "$state" /run/vela/state || fail "mount $state ($STATE_LABEL of /dev/$disk) failed"
	[ -f /run/vela/state/vela/installed ] ||
		fail "/dev/$disk: its install did not finish (no vela/installed on $STATE_LABEL); network-boot this machine to reinstall it"
	want=$(cut -d' ' -f1 /run/vela/boot/rootfs.squashfs.sha256)
	got=$(sha256sum /run/vela/boot/rootfs.squashfs | cut -d' ' -f1)
	[ -n "$want" ] && [ "$got" = "$want" ] ||
		fail "/dev/$disk: rootfs.squashfs sha256 $got does not match rootfs.squashfs.sha256 ($want); the disk is damaged: network-boot this machine to reinstall it"
	log "root image on $boot verified; $(cat /run/vela/state/vela/installed)"
	ln -s boot/rootfs.squashfs /run/vela/rootfs.squashfs
	mkdir -p /run/vela/lower
	mount -t squashfs -o ro,loop /run/vela/boot/rootfs.squashfs /run/vela/lower ||
		fail "mount root image (squashfs) from $boot failed"
	UPPER_DIR=/run/vela/state/root
}
