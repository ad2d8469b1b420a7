package velaos

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf16"

	"github.com/vela-appliance/vela/images/bootlab"
)

// layout is what an install writes under one firmware (files/initramfs/disk.sh),
// as the install tests check it from the host.
type layout struct {
	fw     bootlab.Firmware
	state  string // VELA-STATE, as the guest sees it
	loader string // the boot loader's LoaderInfo EFI variable on a disk boot
	pttype string // blkid's word for the foreign disk's partition table
}

var (
	biosLayout = layout{fw: bootlab.BIOS, state: "/dev/vda2", loader: "none", pttype: "PTTYPE=dos"}
	uefiLayout = layout{fw: bootlab.UEFI, state: "/dev/vda3", loader: "systemd-boot", pttype: "PTTYPE=gpt"}
	layouts    = []layout{biosLayout, uefiLayout}
)

const sector = 512

// check reads the disk image: it must hold Vela's partition table for the
// layout, and boot code exactly when bootable (the boot code is written last).
func (l layout) check(disk string, bootable bool) error {
	f, err := os.Open(disk)
	if err != nil {
		return err
	}
	defer f.Close()
	lba := make([]byte, 3*sector)
	if _, err := f.ReadAt(lba, 0); err != nil {
		return err
	}
	mbr := lba[:sector]
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		return fmt.Errorf("no partition table (no 55aa in the MBR)")
	}
	var problems []string
	if l.fw == bootlab.BIOS {
		if string(mbr[440:444]) != "ALEV" {
			problems = append(problems, fmt.Sprintf("MBR disk identifier % x, want Vela's 41 4c 45 56", mbr[440:444]))
		}
		if has := !bytes.Equal(mbr[:440], make([]byte, 440)); has != bootable {
			problems = append(problems, fmt.Sprintf("MBR boot code present=%v, want %v", has, bootable))
		}
		return joinProblems(problems)
	}
	hdr, entries := lba[sector:2*sector], lba[2*sector:]
	if mbr[446+4] != 0xee || string(hdr[:8]) != "EFI PART" {
		return fmt.Errorf("not a GPT disk (MBR type %#x, header %q)", mbr[446+4], hdr[:8])
	}
	if string(hdr[56:60]) != "ALEV" { // the GUID's first field 0x56454c41, little-endian
		problems = append(problems, fmt.Sprintf("disk GUID starts % x, want Vela's 56454c41-", hdr[56:60]))
	}
	for i, want := range []string{"VELA-EFI", "VELA-OS", "VELA-STATE"} {
		if got := gptName(entries[i*128+56 : i*128+128]); got != want {
			problems = append(problems, fmt.Sprintf("partition %d named %q, want %q", i+1, got, want))
		}
	}
	if !bytes.Equal(entries[:16], guid(espType)) {
		problems = append(problems, "partition 1 is not an EFI system partition")
	}
	// The loader's directory entry (8.3 name, no long name) in the ESP.
	esp := make([]byte, 256<<20)
	if _, err := f.ReadAt(esp, 2048*sector); err != nil {
		return err
	}
	if has := bytes.Contains(esp, []byte("BOOTX64 EFI")); has != bootable {
		problems = append(problems, fmt.Sprintf("EFI/BOOT/BOOTX64.EFI present=%v, want %v", has, bootable))
	}
	return joinProblems(problems)
}

func joinProblems(p []string) error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

// writeForeign gives the disk image someone else's partition table (MBR
// under BIOS, GPT under UEFI) with one partition and some data in it.
func (l layout) writeForeign(t *testing.T, disk string) {
	t.Helper()
	f, err := os.OpenFile(disk, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	for off, b := range foreignTable(l.fw, st.Size()/sector) {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.WriteAt([]byte("someone's data"), 2048*sector+4096); err != nil {
		t.Fatal(err)
	}
}

const (
	espType   = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	linuxType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
)

// foreignTable is a partition table Vela did not write, by disk offset:
// one Linux partition of 512 MiB at sector 2048.
func foreignTable(fw bootlab.Firmware, sectors int64) map[int64][]byte {
	mbr := make([]byte, sector)
	mbr[510], mbr[511] = 0x55, 0xaa
	p := mbr[446:462]
	if fw == bootlab.BIOS {
		binary.LittleEndian.PutUint32(mbr[440:], 0x12345678) // someone else's disk
		p[4] = 0x83                                          // Linux
		binary.LittleEndian.PutUint32(p[8:], 2048)           // first sector
		binary.LittleEndian.PutUint32(p[12:], 1<<20)         // 512 MiB
		return map[int64][]byte{0: mbr}
	}
	p[4] = 0xee // protective MBR
	binary.LittleEndian.PutUint32(p[8:], 1)
	binary.LittleEndian.PutUint32(p[12:], uint32(min(sectors-1, 0xffffffff)))
	entries := make([]byte, 128*128)
	copy(entries, guid(linuxType))
	copy(entries[16:], guid("0D15EA5E-1234-4321-8765-0123456789AB"))
	binary.LittleEndian.PutUint64(entries[32:], 2048)
	binary.LittleEndian.PutUint64(entries[40:], 2048+1<<20-1)
	for i, c := range utf16.Encode([]rune("data")) {
		binary.LittleEndian.PutUint16(entries[56+2*i:], c)
	}
	last := sectors - 1
	header := func(my, alt, entriesAt int64) []byte {
		h := make([]byte, sector)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], uint64(my))
		binary.LittleEndian.PutUint64(h[32:], uint64(alt))
		binary.LittleEndian.PutUint64(h[40:], 34)
		binary.LittleEndian.PutUint64(h[48:], uint64(last-33))
		copy(h[56:], guid("12345678-9ABC-DEF0-1234-56789ABCDEF0"))
		binary.LittleEndian.PutUint64(h[72:], uint64(entriesAt))
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(entries))
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		return h
	}
	return map[int64][]byte{
		0:                    mbr,
		sector:               header(1, last, 2),
		2 * sector:           entries,
		(last - 32) * sector: entries,
		last * sector:        header(last, 1, last-32),
	}
}

// guid is the on-disk (mixed-endian) form of a GUID string.
func guid(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("bad GUID " + s)
	}
	for _, r := range [][2]int{{0, 4}, {4, 6}, {6, 8}} {
		for i, j := r[0], r[1]-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
	}
	return b
}

// gptName decodes a GPT partition name (UTF-16LE, NUL-padded).
func gptName(b []byte) string {
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// fingerprint is the sha256 of a sparse disk image's first 64 MiB and its
// allocated size: any write the guest made shows in one of them.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 64<<20)); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x, %d blocks", h.Sum(nil)[:8], st.Blocks)
}

// TestForeignTable checks the foreign disks the install tests write: blkid
// (as the initramfs runs it) must read them, and layout.check must not take
// them for Vela's.
func TestForeignTable(t *testing.T) {
	blkid, err := exec.LookPath("blkid")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("blkid missing (apt-get install util-linux)")
	}
	for _, tt := range []struct {
		lay  layout
		want []string
	}{
		{biosLayout, []string{"PTTYPE=dos", "PTUUID=12345678"}},
		{uefiLayout, []string{"PTTYPE=gpt", "PTUUID=12345678-9abc-def0-1234-56789abcdef0"}},
	} {
		t.Run(string(tt.lay.fw), func(t *testing.T) {
			disk := filepath.Join(t.TempDir(), "disk.raw")
			if err := os.WriteFile(disk, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(disk, 5<<30); err != nil {
				t.Fatal(err)
			}
			tt.lay.writeForeign(t, disk)
			out, err := exec.Command(blkid, "-p", "-o", "export", disk).CombinedOutput()
			if err != nil {
				t.Fatalf("blkid: %v\n%s", err, out)
			}
			wantAll(t, "blkid", string(out), tt.want...)
			if err := tt.lay.check(disk, false); err == nil {
				t.Errorf("layout.check took a foreign disk for Vela's")
			}
		})
	}
}

// TestExtLabel runs disk.sh's ext_label and state_part's test on real
// file systems: VELA-STATE is found by label, whatever its number.
func TestExtLabel(t *testing.T) {
	mke2fs, err := exec.LookPath("mke2fs")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("mke2fs missing (apt-get install e2fsprogs)")
	}
	dir := t.TempDir()
	for _, tt := range []struct{ name, label, want string }{
		{"state", "VELA-STATE", "VELA-STATE"},
		{"boot", "VELA-OS", "VELA-OS"},
		{"nolabel", "", ""},
		{"zero", "-", ""}, // no file system at all
	} {
		img := filepath.Join(dir, tt.name)
		if err := os.WriteFile(img, make([]byte, 4<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		if tt.label != "-" {
			args := []string{"-q", "-F", "-t", "ext4", img}
			if tt.label != "" {
				args = append([]string{"-L", tt.label}, args...)
			}
			if out, err := exec.Command(mke2fs, args...).CombinedOutput(); err != nil {
				t.Fatalf("mke2fs: %v\n%s", err, out)
			}
		}
		out, err := exec.Command("sh", "-c", ". files/initramfs/disk.sh; ext_label "+img).CombinedOutput()
		if err != nil || string(out) != tt.want {
			t.Errorf("ext_label %s = %q (%v), want %q", tt.name, out, err, tt.want)
		}
	}
}
