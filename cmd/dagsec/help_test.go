package main

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the command prints")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got, *update)
}

// Every command and subcommand has a help page, the same by --help, -h
// and `dagsec help CMD`, exiting 0, that lists every flag of the
// command's own flag set with a description: a flag added without one
// fails here.
func TestHelpOfEveryCommand(t *testing.T) {
	root := commands()
	for _, c := range allCommands(root) {
		words := strings.Fields(c.name)
		name := strings.Join(words, "-")
		if name == "" {
			name = "dagsec"
		}
		t.Run(name, func(t *testing.T) {
			ways := [][]string{
				append(append([]string{}, words...), "--help"),
				append(append([]string{}, words...), "-h"),
				append([]string{"help"}, words...),
			}
			var page string
			for i, args := range ways {
				code, stdout, stderr := dagsec(t, args...)
				if code != 0 || stderr != "" {
					t.Fatalf("dagsec %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), code, stderr)
				}
				if i == 0 {
					page = stdout
				} else if stdout != page {
					t.Errorf("dagsec %s prints another page than dagsec %s", strings.Join(args, " "), strings.Join(ways[0], " "))
				}
			}
			golden(t, filepath.Join("help", name+".golden"), page)

			if !strings.HasPrefix(page, "Usage: dagsec "+c.name) && c.name != "" {
				t.Errorf("the page does not start with its usage line:\n%s", page)
			}
			if len(c.examples) == 0 {
				t.Errorf("dagsec %s has no examples", c.name)
			}
			c.flagSet().VisitAll(func(f *flag.Flag) {
				if strings.TrimSpace(f.Usage) == "" {
					t.Errorf("flag %s has no description", dashed(f.Name))
				}
				if !strings.Contains(page, "  "+dashed(f.Name)) && !strings.Contains(page, ", "+dashed(f.Name)) {
					t.Errorf("flag %s is not on the help page", dashed(f.Name))
				}
			})
			for _, s := range c.subs {
				if !strings.Contains(page, "  "+s.word()+" ") {
					t.Errorf("subcommand %s is not on the help page", s.word())
				}
			}
		})
	}
}

// A misspelled command or flag gets the nearest one, in a short message
// (not the whole usage), exit 2.
func TestMisspellingsSuggestTheNearest(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"command", []string{"scna", "."}},
		{"flag", []string{"scan", "--polcy", "p.yaml", "."}},
		{"single-dash-flag", []string{"scan", "-polcy=p.yaml", "."}},
		{"subcommand", []string{"policy", "valdate"}},
		{"hook", []string{"hook", "large-file"}},
		{"help-topic", []string{"help", "metrcs"}},
		{"hook-flag", []string{"hook", "large-files", "--max-k", "10"}},
		{"tool", []string{"tools", "install", "gitleak"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := dagsec(t, tt.args...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if n := strings.Count(stderr, "\n"); n > 2 {
				t.Errorf("%d lines; want the message and a pointer to the help:\n%s", n, stderr)
			}
			golden(t, filepath.Join("suggest", tt.name+".golden"), stderr)
		})
	}
}
