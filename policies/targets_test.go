package policies

import (
	"testing"
	"time"
)

func TestTargetsDefaults(t *testing.T) {
	want := Targets{
		MTTRCritical: 48 * time.Hour, MTTRHigh: 168 * time.Hour, ImageAge: 720 * time.Hour,
		ScannedPercent: 100, OpenCritical: 0, SecretLeaks: 0,
	}
	for _, n := range PresetNames() {
		p, err := Preset(n)
		if err != nil {
			t.Fatal(err)
		}
		if p.Targets != want {
			t.Errorf("preset %s targets = %+v, want %+v", n, p.Targets, want)
		}
	}
	p, err := Parse([]byte("extends: strict\ntargets:\n  mttr_high: 72h\n  scanned: 95.5\n  secret_leaks: 1\n"), "policy.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	want.MTTRHigh, want.ScannedPercent, want.SecretLeaks = 72*time.Hour, 95.5, 1
	if p.Targets != want {
		t.Errorf("override: %+v", p.Targets)
	}
}

func TestTargetsErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"unknown key", "targets:\n  mttr_critcal: 24h\n", 2, `unknown key "mttr_critcal" in targets (known: mttr_critical, mttr_high, scanned, open_critical, secret_leaks, image_age); did you mean "mttr_critical"?`},
		{"duration in days", "targets:\n  mttr_high: 7d\n", 2, `targets.mttr_high: invalid duration "7d"`},
		{"zero duration", "targets:\n  mttr_critical: 0s\n", 2, "targets.mttr_critical: must be positive, got 0s"},
		{"negative image age", "targets:\n  image_age: -1h\n", 2, "targets.image_age: must be positive"},
		{"percent above 100", "targets:\n  scanned: 101\n", 2, "targets.scanned: must be from 0 to 100, got 101"},
		{"negative percent", "targets:\n  scanned: -0.5\n", 2, "targets.scanned: must be from 0 to 100, got -0.5"},
		{"percent sign", "targets:\n  scanned: 95%\n", 2, `targets.scanned: want a percentage from 0 to 100 such as 95 (no % sign), got "95%"`},
		{"NaN", "targets:\n  scanned: .nan\n", 2, "targets.scanned: must be from 0 to 100"},
		{"negative count", "targets:\n  open_critical: -1\n", 2, "targets.open_critical: must be zero or more, got -1"},
		{"count not an integer", "targets:\n  secret_leaks: 1.5\n", 2, `targets.secret_leaks: want an integer, got "1.5"`},
		{"not a mapping", "targets: [48h]\n", 1, "targets: want a mapping such as {mttr_critical: 48h, scanned: 100}, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { badSource(t, parsePolicy, tt.src, tt.line, tt.want) })
	}
}
