// Package metrics turns saved run reports into numbers a team can track:
// per run (findings by stage and severity, baseline and suppression counts,
// stage coverage, base image age, tool and database versions) and over a
// history of runs (time to remediate, open criticals on the production
// branch, secret leaks per quarter, scan coverage, dependency and base image
// freshness), each judged against a target. Output is JSON, Markdown or
// OpenMetrics text.
package metrics

import (
	"context"
	"time"

	"github.com/dagsec/dagsec/metrics/manifests"
	"github.com/dagsec/dagsec/stages"
)

// Targets are what a team aims for. Every target is an upper bound
// (reached when the value is at most the target) except ScannedPercent, a
// lower bound.
//
// The policy will carry them as policies.Targets, with the same fields;
// until then DefaultTargets is used.
type Targets struct {
	// MTTRCritical and MTTRHigh bound the mean time to remediate a critical
	// and a high finding.
	MTTRCritical time.Duration
	MTTRHigh     time.Duration
	// ImageAge bounds the age of the latest built image's base.
	ImageAge time.Duration
	// ScannedPercent is the share of runs, in percent, in which every
	// scanning stage ran.
	ScannedPercent float64
	// OpenCritical bounds the unsuppressed critical findings of the latest
	// run on the production branch.
	OpenCritical int
	// SecretLeaks bounds the secret leak incidents of the current quarter.
	SecretLeaks int
}

// DefaultTargets are the targets of a policy that sets none: criticals
// fixed within 2 days and highs within a week on average, every run
// scanning every stage, no open critical in production, no leaked secret
// this quarter, a base image at most 30 days old.
func DefaultTargets() Targets {
	return Targets{
		MTTRCritical:   48 * time.Hour,
		MTTRHigh:       168 * time.Hour,
		ImageAge:       720 * time.Hour,
		ScannedPercent: 100,
		OpenCritical:   0,
		SecretLeaks:    0,
	}
}

// ManifestsDigest fingerprints the source's dependency manifests and
// lockfiles (manifests.Patterns, outside the folders no stage scans):
// "sha256:" and the SHA-256 of every file's path and content in sorted path
// order. Run reports record it as manifests_digest; History dates the last
// dependency change from it. pipeline should call manifests.Digest, which
// this wraps: metrics imports pipeline, so pipeline cannot import metrics.
func ManifestsDigest(ctx context.Context, probe stages.Probe) (string, error) {
	return manifests.Digest(ctx, probe)
}
