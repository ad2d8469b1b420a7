package api

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/vela-appliance/vela/cluster/fsm"
	"github.com/vela-appliance/vela/cluster/pki"
)

// principal is who makes a request.
type principal struct {
	Kind   string // "", admin, tenant, member, agent
	Name   string
	Tenant string
}

func (p principal) String() string {
	switch p.Kind {
	case "":
		return "anonymous"
	case fsm.ScopeTenant:
		return "tenant:" + p.Tenant + "/" + p.Name
	}
	return p.Kind + ":" + p.Name
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// access is who may call a route.
type access []string

var (
	anyone     = access(nil)
	adminOnly  = access{fsm.ScopeAdmin}
	membersOr  = access{fsm.ScopeAdmin, pki.RoleMember}
	memberOnly = access{pki.RoleMember}
	users      = access{fsm.ScopeAdmin, fsm.ScopeTenant}
)

func (a access) allows(p principal) error {
	if a == nil || slices.Contains(a, p.Kind) {
		return nil
	}
	if p.Kind == "" {
		return errf(http.StatusUnauthorized, "", "authentication required: send Authorization: Bearer TOKEN (see `vela members` --token-file)")
	}
	return errf(http.StatusForbidden, "", "%s may not do this (allowed: %s)", p, strings.Join(a, ", "))
}

// authenticate finds the principal: a bearer token first, else a verified
// client certificate (a member's or agent's), also when a member forwarded
// the request on its behalf.
func (s *Server) authenticate(r *http.Request) (principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return principal{}, errf(http.StatusUnauthorized, "", "Authorization header is not \"Bearer TOKEN\"")
		}
		hash := pki.HashToken(tok)
		var t fsm.APIToken
		s.view(func(st *fsm.State) { t, ok = st.TokenByHash(hash) })
		if !ok {
			return principal{}, errf(http.StatusUnauthorized, "", "token %q is not known (revoked, mistyped, or not replicated to this member yet with ?stale=true)", pki.TokenID(tok))
		}
		return principal{Kind: t.Scope, Name: t.Name, Tenant: t.Tenant}, nil
	}
	cert := peerCert(r)
	if cert == nil {
		return principal{}, nil
	}
	if forwarded := r.Header.Get(hdrForwardedCert); forwarded != "" && hasRole(cert, pki.RoleMember) {
		der, err := base64.StdEncoding.DecodeString(forwarded)
		if err != nil {
			return principal{}, errf(http.StatusBadRequest, "", "bad forwarded certificate header")
		}
		c, err := x509.ParseCertificate(der)
		if err != nil || s.cfg.Pool == nil {
			return principal{}, errf(http.StatusBadRequest, "", "bad forwarded certificate")
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: s.cfg.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return principal{}, errf(http.StatusUnauthorized, "", "forwarded certificate: %v", err)
		}
		cert = c
	} else if r.Header.Get(hdrForwardedBy) != "" && hasRole(cert, pki.RoleMember) {
		// A member forwarded an anonymous request: it stays anonymous.
		return principal{}, nil
	}
	for _, role := range []string{pki.RoleMember, pki.RoleAgent} {
		if hasRole(cert, role) {
			return principal{Kind: role, Name: cert.Subject.CommonName}, nil
		}
	}
	return principal{}, nil
}

func peerCert(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return r.TLS.VerifiedChains[0][0]
}

func hasRole(c *x509.Certificate, role string) bool {
	return slices.Contains(c.Subject.OrganizationalUnit, role)
}
