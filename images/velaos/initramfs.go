package velaos

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// assembleInitramfs fills dir with the initramfs tree: busybox, /init and its
// scripts, the Ignition binary with its shared libraries, and the recipe's
// kernel modules (with dependencies) taken from root's /lib/modules/kver.
func assembleInitramfs(dir, root, kver, busybox, ignition string, r Recipe) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "usr/libexec/vela", "etc/vela",
		"proc", "sys", "dev", "run", "sysroot", "tmp", "lib64"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(busybox, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return fmt.Errorf("busybox: %w", err)
	}
	if err := os.Symlink("busybox", filepath.Join(dir, "bin/sh")); err != nil {
		return err
	}
	scripts := map[string]string{"init": "init", "etc/vela/udhcpc.script": "udhcpc.script",
		"usr/libexec/vela/sysroot-exec": "sysroot-exec", "usr/libexec/vela/disk.sh": "disk.sh"}
	for dst, src := range scripts {
		b, err := files.ReadFile("files/initramfs/" + src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o755); err != nil {
			return err
		}
	}
	for _, t := range SysrootTools {
		if err := os.Symlink("sysroot-exec", filepath.Join(dir, "usr/libexec/vela", t)); err != nil {
			return err
		}
	}
	if err := copyFile(ignition, filepath.Join(dir, "usr/bin/ignition"), 0o755); err != nil {
		return fmt.Errorf("ignition: %w", err)
	}
	if err := copyLibs(ignition, dir); err != nil {
		return err
	}
	mods, err := copyModules(root, dir, kver, r.Modules)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "etc/vela/modules"), []byte(strings.Join(mods, "\n")+"\n"), 0o644)
}

var lddRE = regexp.MustCompile(`(?:=> )?(/[^ ]+) \(0x`)

// copyLibs copies the shared libraries bin needs (per ldd) to the same
// paths under dir.
func copyLibs(bin, dir string) error {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil
		}
		return fmt.Errorf("ldd %s: %v: %s", bin, err, out)
	}
	for _, m := range lddRE.FindAllStringSubmatch(string(out), -1) {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(m[1])), 0o755); err != nil {
			return err
		}
		if err := copyFile(m[1], filepath.Join(dir, m[1]), 0o755); err != nil {
			return fmt.Errorf("library %s of %s: %w", m[1], bin, err)
		}
	}
	return nil
}

// copyModules copies the wanted modules and their dependencies, writes a
// modules.dep for busybox modprobe and returns the wanted modules that exist
// (built-in ones are left out: they need no loading).
func copyModules(root, dir, kver string, want []string) ([]string, error) {
	src := filepath.Join(root, "lib/modules", kver)
	f, err := os.Open(filepath.Join(src, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("kernel modules of %s: %w", kver, err)
	}
	defer f.Close()
	deps := map[string][]string{} // relative path -> dependency paths
	byName := map[string]string{} // module name -> relative path
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		byName[modName(mod)] = mod
	}
	need := map[string]bool{}
	var visit func(string)
	visit = func(m string) {
		if need[m] {
			return
		}
		need[m] = true
		for _, d := range deps[m] {
			visit(d)
		}
	}
	var found []string
	for _, w := range want {
		if p, ok := byName[w]; ok {
			visit(p)
			found = append(found, w)
		}
	}
	dst := filepath.Join(dir, "lib/modules", kver)
	var dep strings.Builder
	for m := range need {
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(m)), 0o755); err != nil {
			return nil, err
		}
		if err := copyFile(filepath.Join(src, m), filepath.Join(dst, m), 0o644); err != nil {
			return nil, err
		}
	}
	var lines []string
	for m, ds := range deps {
		if need[m] {
			lines = append(lines, fmt.Sprintf("%s: %s\n", m, strings.Join(ds, " ")))
		}
	}
	sort.Strings(lines) // the same recipe gives the same initramfs bytes
	dep.WriteString(strings.Join(lines, ""))
	if err := os.WriteFile(filepath.Join(dst, "modules.dep"), []byte(dep.String()), 0o644); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(src, "modules.builtin")); err == nil {
		if err := os.WriteFile(filepath.Join(dst, "modules.builtin"), b, 0o644); err != nil {
			return nil, err
		}
	}
	return found, nil
}

func modName(p string) string {
	n := path.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		n = strings.TrimSuffix(n, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(n, ".ko"), "-", "_")
}

// writeInitramfs archives dir as a gzip-compressed newc cpio at out.
func writeInitramfs(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	err = writeCpio(zw, dir)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write initramfs %s: %w", out, err)
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}
