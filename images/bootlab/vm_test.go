package bootlab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQemuArgs(t *testing.T) {
	base := VMConfig{MemoryMiB: 1024, CPUs: 1, MAC: "52:54:00:00:00:01", ServerPort: 8080}
	for _, tt := range []struct {
		name      string
		cfg       func(*VMConfig)
		fw        []string
		want, not []string
	}{
		{"bios kernel", func(c *VMConfig) { c.Kernel, c.Initrd, c.Append = "k", "i", "a" }, nil,
			[]string{"-kernel k -initrd i -append a"}, []string{"-boot", "pflash", "-drive"}},
		{"bios disk", func(c *VMConfig) { c.Disk = "d.raw" }, nil,
			[]string{"-boot c -drive file=d.raw,format=raw,if=virtio,cache=unsafe"}, []string{"pflash", "bootindex"}},
		{"uefi disk", func(c *VMConfig) { c.Disk, c.Firmware = "d.raw", UEFI }, []string{"-drive", "if=pflash,x"},
			[]string{"-drive if=pflash,x", "-drive file=d.raw,format=raw,if=none,id=disk0,cache=unsafe -device virtio-blk-pci,drive=disk0,bootindex=1"},
			[]string{"-boot", "-kernel"}},
		{"uefi kernel and disk", func(c *VMConfig) { c.Kernel, c.Initrd, c.Append, c.Disk, c.Firmware = "k", "i", "a", "d.raw", UEFI }, []string{"-drive", "if=pflash,x"},
			[]string{"-drive if=pflash,x -kernel k -initrd i -append a", "bootindex=1"}, []string{"-boot"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.cfg(&cfg)
			got := strings.Join(qemuArgs(cfg, "/bin/busybox", tt.fw), " ")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("args lack %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("args have %q:\n%s", n, got)
				}
			}
		})
	}
}

// TestFirmware checks the UEFI variable store: a per-VM copy of OVMF's
// template, kept when named, removed by cleanup when not.
func TestFirmware(t *testing.T) {
	if args, cleanup, err := firmware(VMConfig{}); err != nil || args != nil {
		t.Fatalf("BIOS: %v %v", args, err)
	} else {
		cleanup()
	}
	if _, _, err := firmware(VMConfig{Firmware: "coreboot"}); err == nil || !strings.Contains(err.Error(), `firmware "coreboot"`) {
		t.Errorf("unknown firmware: %v", err)
	}
	if err := HaveOVMF(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	vars := filepath.Join(t.TempDir(), "vm1.vars")
	args, cleanup, err := firmware(VMConfig{Firmware: UEFI, UEFIVars: vars})
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if want := "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode; args[1] != want {
		t.Errorf("code drive %q, want %q", args[1], want)
	}
	if !strings.HasSuffix(args[3], "file="+vars) {
		t.Errorf("vars drive %q, want file=%s", args[3], vars)
	}
	if err := os.WriteFile(vars, []byte("nvram kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, cleanup, err = firmware(VMConfig{Firmware: UEFI, UEFIVars: vars}); err != nil {
		t.Fatal(err)
	}
	cleanup()
	if b, _ := os.ReadFile(vars); string(b) != "nvram kept" {
		t.Errorf("a VM's own variable store was replaced: %q", b)
	}
	args, cleanup, err = firmware(VMConfig{Firmware: UEFI})
	if err != nil {
		t.Fatal(err)
	}
	tmp := strings.TrimPrefix(args[3], "if=pflash,format=raw,unit=1,file=")
	if st, err := os.Stat(tmp); err != nil || st.Size() == 0 {
		t.Errorf("fresh variable store %s: %v", tmp, err)
	}
	cleanup()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", tmp)
	}
}
