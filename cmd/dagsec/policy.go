package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dagsec/dagsec/policies"
)

func presetFlag(fs *flag.FlagSet, p *string, what string) {
	fs.StringVar(p, "preset", "", what+": `NAME`, one of "+strings.Join(policies.PresetNames(), ", "))
}

func policyValidateFlags(fs *flag.FlagSet, preset *string) {
	presetFlag(fs, preset, "the preset the file is applied over (default: its extends, else default)")
}

// cmdPolicyValidate checks a policy file as scan loads it, and warns
// (exit 0) about suppressions already past their date.
func cmdPolicyValidate(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var preset string
	pos, err := parseFlags("policy validate", func(fs *flag.FlagSet) { policyValidateFlags(fs, &preset) }, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 1 {
		return exitError, usageError{"policy validate takes one FILE", "policy validate"}
	}
	var file string
	if len(pos) == 1 {
		file = pos[0]
	} else {
		// The same check scan makes, so what validates here is what scan loads.
		if file, err = repoPolicy("."); err != nil {
			return exitError, err
		}
		if file == "" {
			return exitError, usageError{"policy validate: no FILE given and no " + policies.RepoFile + " here", "policy validate"}
		}
	}
	p, err := policies.Load(file, preset)
	if err != nil {
		return exitError, err
	}
	now := time.Now()
	for _, s := range p.Suppressions {
		if s.Expired(now) {
			fmt.Fprintf(stderr, "%s: warning: the suppression of %s (owner %s) expired on %s: its findings count again; renew its expires or remove it\n",
				s.Source, s.Describe(), s.Owner, s.ExpiresDate())
		}
	}
	base := p.Extends
	if base == "" {
		base = policies.DefaultPreset
	}
	fmt.Fprintf(stdout, "%s: valid policy (extends %s)\n", file, base)
	return exitPassed, nil
}

type policyShowOptions struct{ preset, policy string }

func (o *policyShowOptions) register(fs *flag.FlagSet) {
	presetFlag(fs, &o.preset, "preset to show, or the one --policy is applied over")
	fs.StringVar(&o.policy, "policy", "", "policy `FILE` to show, merged over its preset")
}

// cmdPolicyShow prints the effective policy, every setting spelled out.
func cmdPolicyShow(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
	var o policyShowOptions
	pos, err := parseFlags("policy show", o.register, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 0 {
		return exitError, usageError{"policy show takes no arguments", "policy show"}
	}
	p, err := loadPolicy(o.policy, o.preset)
	if err != nil {
		return exitError, err
	}
	if o.policy == "" {
		// A preset shown is that preset, not the one it is written over.
		p.Extends = p.Name
	}
	b, err := p.Marshal()
	if err != nil {
		return exitError, err
	}
	stdout.Write(b)
	return exitPassed, nil
}
