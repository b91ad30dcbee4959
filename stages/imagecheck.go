package stages

import (
	"fmt"
	"strings"
	"time"

	"github.com/dagsec/dagsec/findings"
)

// Rule ids of dagsec's own checks of the built image (the build stage). They
// are interfaces: reports, baselines and code scanning key on them.
const (
	ImageRootUser   = "DAGSEC-IMG001"
	ImageOldBase    = "DAGSEC-IMG002"
	ImageBaseNoDate = "DAGSEC-IMG003"
)

// DefaultMaxBaseAge is the oldest a base image may be when the policy sets
// no max_base_age.
const DefaultMaxBaseAge = 30 * 24 * time.Hour

// maxClockSkew is how far in the future a base image's build time may lie
// before it is refused: registries and builders disagree by seconds, not
// by hours.
const maxClockSkew = 5 * time.Minute

// ImageRules are dagsec's checks of the built image, in rule id order.
var ImageRules = []HardeningRule{
	{
		ID:       ImageRootUser,
		Title:    "Image runs as root",
		Tool:     HardeningTool,
		Stage:    Build,
		Severity: findings.SeverityHigh,
		Help: "The image's config sets no user, or a root one (root, 0, root:GROUP, 0:GROUP), so its processes " +
			"run as UID 0.",
		Fix:     "End the final stage with USER NAME or USER UID:GID of an unprivileged user.",
		HelpURI: "https://docs.docker.com/reference/dockerfile/#user",
	},
	{
		ID:       ImageOldBase,
		Title:    "Base image is older than allowed",
		Tool:     HardeningTool,
		Stage:    Build,
		Severity: findings.SeverityMedium,
		Help: "The final stage's base image was built longer ago than the policy's max_base_age (30 days by " +
			"default), so it likely lacks recent security fixes.",
		Fix:     "Move to a current tag or digest and rebuild.",
		HelpURI: "https://docs.docker.com/build/building/best-practices/#rebuild-your-images-often",
	},
	{
		ID:       ImageBaseNoDate,
		Title:    "Base image build time unknown",
		Tool:     HardeningTool,
		Stage:    Build,
		Severity: findings.SeverityLow,
		Help: "The base image's config records no build time, or the Unix epoch that reproducible builds use " +
			"as a placeholder, so its age cannot be checked.",
		Fix:     "Track the base image's releases and rebuild on them.",
		HelpURI: "https://github.com/opencontainers/image-spec/blob/main/config.md#properties",
	},
}

// LookupImageRule returns the image check with the given id.
func LookupImageRule(id string) (HardeningRule, bool) {
	for _, r := range ImageRules {
		if r.ID == id {
			return r, true
		}
	}
	return HardeningRule{}, false
}

// ImageFacts is what the build checks read from an OCI image config.
type ImageFacts struct {
	// User is config.User as written ("" when the image sets none).
	User string
	// Env holds config.Env, NAME=value each, in image order.
	Env []string
	// Created is the image's build time; zero when the config has none.
	Created time.Time
}

// imageConfig is the part of an OCI image config (or docker's image JSON)
// the checks read; everything else is ignored.
type imageConfig struct {
	Created *string `json:"created"`
	Config  *struct {
		User string   `json:"User"`
		Env  []string `json:"Env"`
	} `json:"config"`
}

// ParseImageConfig reads an OCI image config. A config that is not a JSON
// object, or whose created time is not RFC 3339, is an error: the checks
// never pass on a config they could not read.
func ParseImageConfig(cfg []byte) (ImageFacts, error) {
	var c imageConfig
	if err := decodeStrictObject(cfg, &c, "image config"); err != nil {
		return ImageFacts{}, err
	}
	var f ImageFacts
	if c.Config != nil {
		f.User = strings.TrimSpace(c.Config.User)
		f.Env = c.Config.Env
	}
	if c.Created != nil && *c.Created != "" {
		t, err := time.Parse(time.RFC3339Nano, *c.Created)
		if err != nil {
			return ImageFacts{}, fmt.Errorf("image config: created %q is not an RFC 3339 time", *c.Created)
		}
		f.Created = t
	}
	return f, nil
}

// RunsAsRoot reports whether the image's processes run as UID 0: no user
// at all, or root by name or number (with any group).
func (f ImageFacts) RunsAsRoot() bool {
	return f.User == "" || isRootUser(f.User)
}

// CheckImageConfig runs the build stage's checks on the built image's
// config and its base image's config:
//
//   - DAGSEC-IMG001 (high): the image runs as root.
//   - DAGSEC-IMG002 (medium): the base image was built more than maxAge
//     (zero means DefaultMaxBaseAge) before now (zero means time.Now()).
//   - DAGSEC-IMG003 (low): the base image records no build time, or the
//     epoch placeholder of reproducible builds, so its age is unknown.
//
// A nil BaseConfig (a scratch base, which has no age, or a base the runner
// could not read, such as a saved tarball on the host) gives no age
// finding. A base built in the future (beyond a few minutes of clock skew)
// or a config that cannot be read is an error.
//
// The findings have no location; CheckImageConfigAt places them at the
// Dockerfile.
func CheckImageConfig(img BuiltImage, maxAge time.Duration, now time.Time) ([]findings.Finding, error) {
	return CheckImageConfigAt(img, ImageOrigins{}, maxAge, now)
}

// CheckImageConfigAt is CheckImageConfig with the findings at the image's
// Dockerfile: the root user at the USER instruction in effect (else the
// final stage's FROM), the base image's age at its FROM.
func CheckImageConfigAt(img BuiltImage, origins ImageOrigins, maxAge time.Duration, now time.Time) ([]findings.Finding, error) {
	if maxAge <= 0 {
		maxAge = DefaultMaxBaseAge
	}
	if now.IsZero() {
		now = time.Now()
	}
	facts, err := ParseImageConfig(img.Config)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Ref, err)
	}
	var out []findings.Finding
	if facts.RunsAsRoot() {
		msg := "the image sets no user, so its processes run as root"
		if facts.User != "" {
			msg = fmt.Sprintf("the image runs as root (user %q)", facts.User)
		}
		out = append(out, imageFinding(ImageRootUser, origins.User(), msg, "user"))
	}
	f, err := checkBaseAge(img, origins.From(), maxAge, now)
	if err != nil {
		return nil, err
	}
	if f != nil {
		out = append(out, *f)
	}
	findings.AssignFingerprints(out)
	return out, nil
}

// checkBaseAge returns the base image's age finding, if any.
func checkBaseAge(img BuiltImage, loc findings.Location, maxAge time.Duration, now time.Time) (*findings.Finding, error) {
	if img.BaseConfig == nil {
		return nil, nil
	}
	base := img.BaseRef
	if base == "" {
		base = "(unnamed base)"
	}
	facts, err := ParseImageConfig(img.BaseConfig)
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", base, err)
	}
	id := "base|" + img.BaseRef
	if facts.Created.IsZero() || facts.Created.Unix() == 0 {
		f := imageFinding(ImageBaseNoDate, loc, fmt.Sprintf("base image %s records no build time, so its age cannot be checked", base), id)
		return &f, nil
	}
	age := now.Sub(facts.Created)
	if age < -maxClockSkew {
		return nil, fmt.Errorf("base image %s: created %s is in the future (now %s)", base,
			facts.Created.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if age <= maxAge {
		return nil, nil
	}
	msg := fmt.Sprintf("base image %s was built %d days ago (%s); the policy allows %d days: rebuild on a current base",
		base, int(age.Hours()/24), facts.Created.UTC().Format("2006-01-02"), int(maxAge.Hours()/24))
	f := imageFinding(ImageOldBase, loc, msg, id)
	return &f, nil
}

func imageFinding(ruleID string, loc findings.Location, msg, identity string) findings.Finding {
	r, _ := LookupImageRule(ruleID)
	return findings.Finding{
		Stage:    Build,
		Tool:     HardeningTool,
		RuleID:   r.ID,
		RuleName: r.Title,
		Severity: r.Severity,
		Message:  msg,
		Location: loc,
		HelpURI:  r.HelpURI,
		Rule:     OwnRuleDoc(r.ID),
		Tags:     []string{"image", "hardening"},
		Identity: identity,
	}
}

// imageEnvFile writes an image's environment one NAME=value per line, for
// gitleaks, and returns for each variable the first line it starts on (a
// value may hold newlines).
func imageEnvFile(env []string) (data []byte, starts []int) {
	var b strings.Builder
	line := 1
	for _, e := range env {
		starts = append(starts, line)
		b.WriteString(e)
		b.WriteByte('\n')
		line += strings.Count(e, "\n") + 1
	}
	return []byte(b.String()), starts
}

// envName is the name of the variable of an env entry ("NAME=value").
func envName(entry string) string {
	name, _, _ := strings.Cut(entry, "=")
	return name
}

// envAtLine finds the variable whose entry holds the given line of the
// file imageEnvFile wrote; ok is false for a line outside it.
func envAtLine(env []string, starts []int, line int) (name string, ok bool) {
	for i := len(starts) - 1; i >= 0; i-- {
		if line >= starts[i] {
			if line > starts[i]+strings.Count(env[i], "\n") {
				return "", false
			}
			return envName(env[i]), true
		}
	}
	return "", false
}
