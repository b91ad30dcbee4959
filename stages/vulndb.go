package stages

import (
	"fmt"
	"strconv"
	"strings"
)

// The pinned Go vulnerability database: the golang.org/x/vulndb module holds
// every Go advisory as OSV JSON under data/osv, and is served by the Go
// module proxy, so a local database can be built where vuln.go.dev and
// osv.dev are unreachable.
const (
	VulnDBModule  = "golang.org/x/vulndb"
	VulnDBVersion = "v0.0.0-20261105234957-e22db6528018"
)

// Layout under a VulnDB folder (Options.VulnDB, mounted at DBDir). Every
// runner uses the same names:
//
//	VERSION                              VulnDBVersionFile: module@version and entry count
//	govulncheck/index/{db,modules,vulns}.json[.gz]
//	govulncheck/ID/GO-*.json[.gz]        vuln.go.dev layout (vulndb's cmd/indexdb); govulncheck -db file://DIR/govulncheck
//	osv-scanner/osv-scalibr/Go/all.zip   osv-scanner --local-db-path DIR/osv-scanner
//
// osv-scanner v2.6.0 (through osv-scalibr's local matcher) reads
// <local-db-path>/osv-scalibr/<ecosystem>/all.zip, a zip of OSV JSON files;
// only Go is provided, so offline it matches Go modules only.
const (
	VulnDBGovulncheck = "govulncheck"
	VulnDBOSVScanner  = "osv-scanner"
	VulnDBVersionFile = "VERSION"
	// VulnDBOSVGoZip is the Go ecosystem's archive, relative to the
	// osv-scanner folder.
	VulnDBOSVGoZip = "osv-scalibr/Go/all.zip"
)

// VulnDBStamp is what a VulnDB folder's VERSION file says about it.
type VulnDBStamp struct {
	Module  string // golang.org/x/vulndb
	Version string // its pseudo-version
	Entries int    // OSV entries in the database
}

// String is the database's name in reports: module@version.
func (s VulnDBStamp) String() string { return s.Module + "@" + s.Version }

// Marshal is the VERSION file's contents:
//
//	golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
//	entries 4789
func (s VulnDBStamp) Marshal() []byte {
	return []byte(fmt.Sprintf("%s@%s\nentries %d\n", s.Module, s.Version, s.Entries))
}

// ParseVulnDBStamp reads a VERSION file written by Marshal.
func ParseVulnDBStamp(b []byte) (VulnDBStamp, error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		return VulnDBStamp{}, fmt.Errorf("vulnerability database %s: want 2 lines, got %d", VulnDBVersionFile, len(lines))
	}
	mod, ver, ok := strings.Cut(strings.TrimSpace(lines[0]), "@")
	if !ok || mod == "" || ver == "" || strings.ContainsAny(mod+ver, " \t") {
		return VulnDBStamp{}, fmt.Errorf("vulnerability database %s: %q is not module@version", VulnDBVersionFile, lines[0])
	}
	n, ok := strings.CutPrefix(strings.TrimSpace(lines[1]), "entries ")
	if !ok {
		return VulnDBStamp{}, fmt.Errorf("vulnerability database %s: %q is not \"entries N\"", VulnDBVersionFile, lines[1])
	}
	entries, err := strconv.Atoi(n)
	if err != nil || entries <= 0 {
		return VulnDBStamp{}, fmt.Errorf("vulnerability database %s: bad entry count %q", VulnDBVersionFile, n)
	}
	return VulnDBStamp{Module: mod, Version: ver, Entries: entries}, nil
}
