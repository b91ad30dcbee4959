package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/dagsec/dagsec/policies"
)

// command is one command or subcommand of dagsec: how it is called, what
// its help page says, and the flags it takes. Every help page is built
// from this, so a flag cannot exist without being listed.
type command struct {
	name     string // as typed after "dagsec": "scan", "policy validate"
	args     string // positional arguments for the usage line: "[PATH]"
	summary  string // one line, in its parent's command list
	about    string // paragraphs, wrapped when printed
	examples []string
	exits    string // exit codes, when not the pipeline's
	// flags registers the command's flags on fs; nil when it has none.
	// run registers them again on its own set, bound to its variables.
	flags func(fs *flag.FlagSet)
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)
	subs  []*command // a group: policy, tools, hook
}

const exitCodes = "Exit codes: 0 passed, 1 a gate blocked, 2 a tool or input error, 3 nothing scanned."

// word is the command's last word: "validate" for "policy validate".
func (c *command) word() string { return c.name[strings.LastIndex(c.name, " ")+1:] }

func (c *command) sub(word string) *command {
	for _, s := range c.subs {
		if s.word() == word {
			return s
		}
	}
	return nil
}

func (c *command) subWords() []string {
	out := make([]string, len(c.subs))
	for i, s := range c.subs {
		out[i] = s.word()
	}
	return out
}

// flagSet is a fresh set of the command's flags, for help and tests.
func (c *command) flagSet() *flag.FlagSet {
	fs := newFlagSet(c.name)
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

// usageError is bad input on the command line: exit 2, with a pointer to
// the command's help (not the help itself, which would bury the message).
type usageError struct {
	msg string
	cmd string // the command whose help to point to; "" for dagsec's
}

func (e usageError) Error() string { return e.msg }

func (e usageError) hint() string {
	if e.cmd == "" {
		return "Run 'dagsec help' for the commands."
	}
	return "Run 'dagsec " + e.cmd + " --help' for usage."
}

// dispatch finds the command args name, and runs it or prints its help.
func dispatch(ctx context.Context, root *command, args []string, stdout, stderr io.Writer) (int, error) {
	c, rest := root, args
	for len(c.subs) > 0 && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		s := c.sub(rest[0])
		if s == nil {
			return exitError, unknownCommand(c, rest[0])
		}
		c, rest = s, rest[1:]
	}
	if wantsHelp(rest) {
		fmt.Fprint(stdout, helpPage(c))
		return exitPassed, nil
	}
	if c.run == nil {
		if len(rest) > 0 {
			return exitError, unknownCommand(c, rest[0])
		}
		return exitError, usageError{fmt.Sprintf("%s needs a subcommand: %s", c.name, strings.Join(c.subWords(), ", ")), c.name}
	}
	return c.run(ctx, rest, stdout, stderr)
}

func unknownCommand(parent *command, word string) error {
	what, where := "command", ""
	if parent.name != "" {
		what, where = parent.name+" subcommand", parent.name
	}
	msg := fmt.Sprintf("unknown %s %q", what, word)
	if s := policies.Suggest(word, parent.subWords()); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else if parent.name != "" {
		msg += " (" + strings.Join(parent.subWords(), ", ") + ")"
	}
	return usageError{msg, where}
}

// wantsHelp reports -h, -help or --help among the arguments before "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// cmdHelp is `dagsec help [COMMAND...]`.
func cmdHelp(root *command) func(context.Context, []string, io.Writer, io.Writer) (int, error) {
	return func(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
		c := root
		for _, a := range args {
			s := c.sub(a)
			if s == nil {
				return exitError, unknownCommand(c, a)
			}
			c = s
		}
		fmt.Fprint(stdout, helpPage(c))
		return exitPassed, nil
	}
}

// parseInterspersed lets flags follow positional arguments
// (`dagsec scan . --out r`), as users of most CLIs expect. Flag errors
// name the flag as typed and the nearest one the command has.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, flagError(fs, args, err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
}

// parseFlags parses args with the flags register sets up on the set of
// the command name.
func parseFlags(name string, register func(*flag.FlagSet), args []string) ([]string, error) {
	fs := newFlagSet(name)
	register(fs)
	return parseInterspersed(fs, args)
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// aliasPrefix starts the usage of a short flag that stands for a long one.
const aliasPrefix = "short for --"

// alias registers -short as another name of the flag --long.
func alias(fs *flag.FlagSet, short, long string) {
	fs.Var(fs.Lookup(long).Value, short, aliasPrefix+long)
}

// dashed is how help pages and messages write a flag: --name, -x.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -(.*)$`)
	flagInMessage = regexp.MustCompile(`(flag |for |argument: )-([A-Za-z0-9][A-Za-z0-9-]*)`)
)

// flagError rewrites the flag package's errors for people: the flag as
// they typed it, the nearest flag the command has, --long spelling.
func flagError(fs *flag.FlagSet, args []string, err error) error {
	msg := err.Error()
	if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
		msg = "unknown flag " + typedFlag(args, m[1])
		var names []string
		fs.VisitAll(func(f *flag.Flag) {
			if len(f.Name) > 1 {
				names = append(names, f.Name)
			}
		})
		if s := policies.Suggest(m[1], names); s != "" {
			msg += "; did you mean " + dashed(s) + "?"
		}
	} else {
		msg = flagInMessage.ReplaceAllStringFunc(msg, func(s string) string {
			sub := flagInMessage.FindStringSubmatch(s)
			return sub[1] + dashed(sub[2])
		})
	}
	return usageError{msg, fs.Name()}
}

// typedFlag finds name as the user wrote it (-x, --name, --name=value).
func typedFlag(args []string, name string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		flagPart, _, _ := strings.Cut(a, "=")
		if strings.TrimLeft(flagPart, "-") == name && strings.HasPrefix(flagPart, "-") {
			return flagPart
		}
	}
	return dashed(name)
}

// helpWidth is the width help pages are wrapped to.
const helpWidth = 80

// helpPage is a command's help: usage, what it does, its subcommands or
// flags (every flag of its set, with its description and default), examples
// and exit codes.
func helpPage(c *command) string {
	var b strings.Builder
	if c.name == "" {
		b.WriteString("dagsec: a DevSecOps pipeline; this command runs its steps on the host.\n\n")
	}
	usage := "dagsec"
	if c.name != "" {
		usage += " " + c.name
	}
	both := len(c.subs) > 0 && c.run != nil // runs itself, or a subcommand
	if len(c.subs) > 0 && !both {
		usage += " COMMAND"
	}
	if c.flags != nil || c.name == "" {
		usage += " [flags]"
	}
	if c.args != "" {
		usage += " " + c.args
	}
	if both {
		usage += "\n       dagsec " + c.name + " COMMAND"
	}
	fmt.Fprintf(&b, "Usage: %s\n", usage)
	if c.about != "" {
		b.WriteString("\n")
		for i, para := range strings.Split(c.about, "\n\n") {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(wrap(para, "", helpWidth))
		}
	}
	if len(c.subs) > 0 {
		b.WriteString("\nCommands:\n")
		wide := 0
		for _, s := range c.subs {
			wide = max(wide, len(s.word()))
		}
		for _, s := range c.subs {
			// The summary wraps under itself.
			text := strings.TrimLeft(wrap(s.summary, strings.Repeat(" ", wide+4), helpWidth), " ")
			fmt.Fprintf(&b, "  %-*s  %s", wide, s.word(), text)
		}
	}
	b.WriteString("\nFlags:\n")
	b.WriteString(flagLines(c.flagSet()))
	b.WriteString(wrap("-h, --help", "  ", helpWidth))
	b.WriteString(wrap("show this help", "      ", helpWidth))
	if c.name == "" {
		b.WriteString(wrap("-v, --version", "  ", helpWidth))
		b.WriteString(wrap("print dagsec's version", "      ", helpWidth))
	}
	if len(c.examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range c.examples {
			b.WriteString("  " + e + "\n")
		}
	}
	if len(c.subs) > 0 {
		fmt.Fprintf(&b, "\nRun 'dagsec help %s' for a command's flags and examples.\n", strings.TrimSpace(c.name+" COMMAND"))
	}
	exits := c.exits
	if exits == "" {
		exits = exitCodes
	}
	b.WriteString("\n" + exits + "\n")
	return b.String()
}

// flagLines lists every flag of fs: "--name VALUE" (with its short alias)
// and, below, its description and default.
func flagLines(fs *flag.FlagSet) string {
	short := map[string]string{} // long name → its one-letter alias
	fs.VisitAll(func(f *flag.Flag) {
		if long, ok := strings.CutPrefix(f.Usage, aliasPrefix); ok {
			short[long] = f.Name
		}
	})
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Usage, aliasPrefix) {
			return
		}
		value, usage := flag.UnquoteUsage(f)
		switch value {
		case "string", "value":
			value = "VALUE"
		case "int":
			value = "N"
		case "duration":
			value = "DURATION"
		}
		head := dashed(f.Name)
		if s, ok := short[f.Name]; ok {
			head = dashed(s) + ", " + head
		}
		if value != "" {
			head += " " + value
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" {
			usage += " (default " + d + ")"
		}
		b.WriteString("  " + head + "\n")
		b.WriteString(wrap(usage, "      ", helpWidth))
	})
	return b.String()
}

// wrap breaks text into lines of at most width runes, each starting with
// indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if line != indent && len([]rune(line))+1+len([]rune(w)) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	return b.String()
}

// printError writes an error once, as one message; usage errors add a
// line pointing to the help.
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "dagsec: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(w, ue.hint())
	}
}

// allCommands lists every command under c, c first, depth first.
func allCommands(c *command) []*command {
	out := []*command{c}
	for _, s := range c.subs {
		out = append(out, allCommands(s)...)
	}
	return out
}
