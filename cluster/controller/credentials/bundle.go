package credentials

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net"
	"sort"
	"strings"
)

// DockerPort is where every node's dockerd listens with TLS.
const DockerPort = "2376"

// Shells that Env renders for.
var Shells = []string{"bash", "zsh", "fish", "powershell", "cmd"}

// Env returns the lines that point the docker CLI at host (a manager's IP)
// with the certificates in dir, for shell; the last line tells how to use
// them, as `docker-machine env` does.
func Env(shell, cluster, host, dir string) (string, error) {
	dh := "tcp://" + net.JoinHostPort(host, DockerPort)
	vars := [][2]string{{"DOCKER_HOST", dh}, {"DOCKER_TLS_VERIFY", "1"}, {"DOCKER_CERT_PATH", dir}}
	var b strings.Builder
	switch shell {
	case "", "bash", "zsh", "sh":
		for _, v := range vars {
			fmt.Fprintf(&b, "export %s=%q\n", v[0], v[1])
		}
		fmt.Fprintf(&b, "# Run this command to configure your shell:\n# eval \"$(vela env %s)\"\n", cluster)
	case "fish":
		for _, v := range vars {
			fmt.Fprintf(&b, "set -gx %s %q;\n", v[0], v[1])
		}
		fmt.Fprintf(&b, "# Run this command to configure your shell:\n# eval (vela env %s --shell fish)\n", cluster)
	case "powershell":
		for _, v := range vars {
			fmt.Fprintf(&b, "$Env:%s = \"%s\"\n", v[0], v[1])
		}
		fmt.Fprintf(&b, "# Run this command to configure your shell:\n# & vela env %s --shell powershell | Invoke-Expression\n", cluster)
	case "cmd":
		for _, v := range vars {
			fmt.Fprintf(&b, "SET %s=%s\n", v[0], v[1])
		}
		fmt.Fprintf(&b, "REM Run this command to configure your shell:\nREM @FOR /f \"tokens=*\" %%i IN ('vela env %s --shell cmd') DO @%%i\n", cluster)
	default:
		return "", fmt.Errorf("shell %q: want one of %s", shell, strings.Join(Shells, ", "))
	}
	return b.String(), nil
}

// Bundle is the set of files a tenant needs to reach a cluster.
type Bundle struct {
	Cluster string // tenant/name, for the README
	Host    string // a manager's IP
	CACert  []byte
	Cert    []byte
	Key     []byte // empty when the key stayed on the client
}

// Files renders the bundle's files; dir is where they will live (the
// DOCKER_CERT_PATH of the env files; "." when unknown).
func (b Bundle) Files(dir string) map[string][]byte {
	name := b.Cluster
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	files := map[string][]byte{"ca.pem": b.CACert, "cert.pem": b.Cert}
	if len(b.Key) > 0 {
		files["key.pem"] = b.Key
	}
	for file, shell := range map[string]string{"docker.env": "bash", "docker.fish": "fish", "docker.ps1": "powershell", "docker.cmd": "cmd"} {
		s, _ := Env(shell, name, b.Host, dir)
		files[file] = []byte(s)
	}
	files["README.md"] = []byte(fmt.Sprintf(`# Vela cluster %s

These files let the plain docker CLI reach the cluster's Swarm over TLS:

    source docker.env        # or: eval "$(vela env %s)"
    docker info              # Swarm: active
    docker stack deploy -c compose.yaml app

- ca.pem: the cluster's CA (it signed every node's dockerd certificate)
- cert.pem, key.pem: your client certificate and key; keep key.pem secret
- docker.env, docker.fish, docker.ps1, docker.cmd: the same settings per shell

DOCKER_HOST points at a manager (%s). On kernels without IPVS, publish
services with --endpoint-mode dnsrr (and --publish mode=host).
`, b.Cluster, name, net.JoinHostPort(b.Host, DockerPort)))
	return files
}

// Zip packs the files (sorted) into a zip archive.
func Zip(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		h.SetMode(0o600)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
