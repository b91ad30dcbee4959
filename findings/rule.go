package findings

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Rule explains a finding's rule the way code scanning shows it on an
// alert: what the rule finds (Description, SARIF's fullDescription) and
// how to deal with it (Help, and HelpMarkdown, its Markdown form). Parsers
// fill it from the tool's own metadata and share one Rule among the
// findings of a rule. It is never part of a fingerprint.
type Rule struct {
	Description  string `json:"description"`
	Help         string `json:"help"`
	HelpMarkdown string `json:"help_markdown,omitempty"`
}

// Doc is what a tool says about a rule, in parts; Rule writes them out as
// plain text and Markdown.
type Doc struct {
	// Summary is what the rule finds, one paragraph; it is also the
	// Rule's Description.
	Summary string
	// Details is further text from the tool (an advisory's details).
	Details string
	// Fix says how to fix what the rule finds.
	Fix string
	// Facts are labelled one-line facts: "CWE", "Aliases", "Fixed in".
	Facts []Fact
	// Links are where to read more; only web URLs are kept, once each.
	Links []string
}

// Fact is one labelled line of a Doc.
type Fact struct{ Label, Value string }

// maxDetails bounds Doc.Details in a Rule, in characters: advisories can
// carry pages of text, which belong behind their link.
const maxDetails = 4000

// Rule writes d out. A Doc without a Summary takes its Details' first
// paragraph, else its Fix, as the Description; an empty Doc gives nil.
func (d Doc) Rule() *Rule {
	summary := oneParagraph(d.Summary)
	details := strings.TrimSpace(d.Details)
	if len(details) > maxDetails && utf8.RuneCountInString(details) > maxDetails {
		details = string([]rune(details)[:maxDetails-1]) + "…"
	}
	fix := oneParagraph(d.Fix)
	if summary == "" {
		first, _, _ := strings.Cut(details, "\n\n")
		summary = oneParagraph(first)
		if summary == details {
			details = ""
		}
	}
	if summary == "" {
		summary = fix
	}
	if summary == "" {
		return nil
	}
	var facts []Fact
	for _, f := range d.Facts {
		if v := oneParagraph(f.Value); v != "" && f.Label != "" {
			facts = append(facts, Fact{f.Label, v})
		}
	}
	var links []string
	for _, l := range d.Links {
		l = strings.TrimSpace(l)
		if IsWebURL(l) && !slices.Contains(links, l) {
			links = append(links, l)
		}
	}

	var text, md strings.Builder
	text.Grow(len(summary) + len(details) + len(fix) + 64*(len(facts)+len(links)) + 32)
	md.Grow(text.Cap() + 16*(len(facts)+len(links)))
	text.WriteString(summary)
	md.WriteString(summary)
	if details != "" {
		text.WriteString("\n\n" + details)
		md.WriteString("\n\n" + details)
	}
	if fix != "" && fix != summary {
		text.WriteString("\n\nFix: " + fix)
		md.WriteString("\n\n**Fix:** " + fix)
	}
	if len(facts) > 0 {
		text.WriteString("\n")
		md.WriteString("\n")
		for _, f := range facts {
			fmt.Fprintf(&text, "\n%s: %s", f.Label, f.Value)
			fmt.Fprintf(&md, "\n- **%s:** %s", f.Label, f.Value)
		}
	}
	if len(links) > 0 {
		text.WriteString("\n\nMore information:")
		md.WriteString("\n\n**More information**\n")
		for _, l := range links {
			text.WriteString("\n- " + l)
			md.WriteString("\n- <" + l + ">")
		}
	}
	return &Rule{Description: summary, Help: text.String(), HelpMarkdown: md.String()}
}

// RuleDoc is the finding's Rule, or, when its tool said nothing about the
// rule, FallbackRule. Never nil, never empty.
func (f Finding) RuleDoc() *Rule {
	if f.Rule != nil && f.Rule.Description != "" && f.Rule.Help != "" {
		return f.Rule
	}
	return FallbackRule(f.Tool, f.Stage, f.Severity)
}

// FallbackRule explains a rule its tool says nothing about with what is
// known of it: the tool, dagsec's stage and severity, and where the rest is
// (the alert's message; the rule's id, name and help link, which SARIF
// carries beside this text). It names no rule, so one serves every such
// rule of a run: a run can hold tens of thousands (one per advisory). Its
// text is plain enough to be its Markdown too.
func FallbackRule(tool, stage string, sev Severity) *Rule {
	desc := tool + " reports this rule without a description."
	help := desc + " dagsec rates its findings " + sev.String() + " in the " + stage + " stage. Each alert's message " +
		"says what was found where; the rule's help link, where " + tool + " gives one, leads to its documentation."
	return &Rule{Description: desc, Help: help, HelpMarkdown: help}
}

// oneParagraph trims s and folds its white space to single spaces
// (normalizeSpace: no copy when it has none to fold).
func oneParagraph(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return normalizeSpace(s)
}
