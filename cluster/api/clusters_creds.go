package api

import (
	"fmt"
	"net"
	"net/http"
	"slices"

	"github.com/vela-appliance/vela/cluster/controller/credentials"
	"github.com/vela-appliance/vela/cluster/fsm"
)

// managerHost picks the IP DOCKER_HOST points at: a running manager the
// controller last saw reachable, else any running manager.
func (s *Server) managerHost(c fsm.Cluster) (string, error) {
	var nodes []fsm.Node
	s.view(func(st *fsm.State) {
		for _, n := range fsm.Sorted(st.Nodes) {
			if n.Tenant == c.Tenant && n.Cluster == c.Name && n.State == fsm.NodeRunning && n.Desired != fsm.NodeDesiredDeleted && n.Role == "manager" {
				nodes = append(nodes, n)
			}
		}
	})
	slices.SortStableFunc(nodes, func(a, b fsm.Node) int {
		ra, rb := slices.Contains(c.Managers, a.Name), slices.Contains(c.Managers, b.Name)
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	for _, n := range nodes {
		if ip, _, err := net.ParseCIDR(n.Address); err == nil {
			return ip.String(), nil
		}
	}
	return "", errf(http.StatusConflict, "", "cluster %q has no running manager yet (state %s%s); wait with `vela cluster get %s`", c.Name, c.State, reasonSuffix(c), c.Name)
}

func reasonSuffix(c fsm.Cluster) string {
	if c.Reason == "" {
		return ""
	}
	return ": " + c.Reason
}

// clientName names a tenant's client certificate after who asked.
func clientName(r *http.Request) string {
	return principalFrom(r.Context()).String()
}

func (s *Server) signCredentials(w http.ResponseWriter, r *http.Request) error {
	c, err := s.clusterOf(r)
	if err != nil {
		return err
	}
	var req CredentialsRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	host, err := s.managerHost(c)
	if err != nil {
		return err
	}
	ca, err := credentials.ParseCA(c.CACert, c.CAKey)
	if err != nil {
		return errf(http.StatusConflict, "", "cluster %q: %v", c.Name, err)
	}
	cert, err := ca.SignClientCSR([]byte(req.CSR), clientName(r), s.cfg.Now())
	if err != nil {
		return errf(http.StatusBadRequest, "csr", "%v", err)
	}
	writeJSON(w, http.StatusOK, Credentials{Cluster: c.Key(), Host: host, DockerHost: "tcp://" + net.JoinHostPort(host, credentials.DockerPort),
		CACert: c.CACert, Cert: string(cert)})
	return nil
}

func (s *Server) credentialsZip(w http.ResponseWriter, r *http.Request) error {
	c, err := s.clusterOf(r)
	if err != nil {
		return err
	}
	host, err := s.managerHost(c)
	if err != nil {
		return err
	}
	ca, err := credentials.ParseCA(c.CACert, c.CAKey)
	if err != nil {
		return errf(http.StatusConflict, "", "cluster %q: %v", c.Name, err)
	}
	cert, key, err := ca.Client(clientName(r), s.cfg.Now())
	if err != nil {
		return err
	}
	b := credentials.Bundle{Cluster: c.Key(), Host: host, CACert: []byte(c.CACert), Cert: cert, Key: key}
	z, err := credentials.Zip(b.Files("."))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", c.Tenant+"-"+c.Name+".zip"))
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(z)
	return err
}
