package detect

// Builtin returns the built-in rules, one table per vendor. Each bound is
// the vendor's format with room for a revision of its length; the prefix,
// the body's charset and its character classes carry the precision.
func Builtin() []Rule {
	var rules []Rule
	for _, table := range [][]Rule{openAI(), anthropic(), xAI(), aws(), github(), gitlab(), google(), generic()} {
		rules = append(rules, table...)
	}
	return rules
}

// openAIMarker is base64 of "OpenAI". Every OpenAI key issued since 2021
// carries it in its body: 20 characters either side in a classic key, 58
// or 74 in project, service-account and admin keys.
const openAIMarker = "T3BlbkFJ"

func openAI() []Rule {
	// Prefixed keys: 74+8+74 (project, service account) or 58+8+58 (admin)
	// body characters today, 48 in early project keys.
	prefixed := func(id string, prefixes ...string) Rule {
		return Rule{ID: id, Vendor: "openai", Prefixes: prefixes, Body: keyChars, MinBody: 40, MaxBody: 256, Classes: 3}
	}
	project := prefixed("openai-project-key", "sk-proj-")
	project.TruePositives = []string{
		"OPENAI_API_KEY=sk-proj-{74:key}T3BlbkFJ{74:key}",
		`"sk-proj-{48:alnum}"`,
	}
	project.FalsePositives = []string{"sk-proj-abc123DEF", "sk-proj-{300:key}", "sk-proj-{60*x}"}
	service := prefixed("openai-service-account-key", "sk-svcacct-", "sk-service-")
	service.TruePositives = []string{"key: sk-svcacct-{74:key}T3BlbkFJ{74:key}", "sk-service-{120:key}"}
	service.FalsePositives = []string{"sk-svcacct-{39:alnum}", "sk-service-account-name-for-the-nightly-job-runner"}
	admin := prefixed("openai-admin-key", "sk-admin-")
	admin.TruePositives = []string{"sk-admin-{58:key}T3BlbkFJ{58:key}"}
	admin.FalsePositives = []string{"sk-admin-{30:alnum}", "sk-admin-{80:hex}"}
	user := prefixed("openai-user-key", "sk-None-")
	user.TruePositives = []string{"sk-None-{74:key}T3BlbkFJ{74:key}"}
	user.FalsePositives = []string{"sk-None-{20:alnum}"}
	return []Rule{project, service, admin, user,
		{
			// The classic key: sk- and 48 letters and digits (20, the
			// marker, 20); 32 to 64 leaves room for older and newer lengths.
			ID: "openai-key", Vendor: "openai", Prefixes: []string{"sk-"}, Body: alnum, MinBody: 32, MaxBody: 64, Classes: 3,
			TruePositives:  []string{`"sk-{20:alnum}T3BlbkFJ{20:alnum}"`, "Authorization: Bearer sk-{48:alnum}"},
			FalsePositives: []string{"import sklearn; pip install scikit-learn sk-learn==1.4.2", "sk-{48:hex}", "task-{48:alnum}", "sk-{65:alnum}"},
		},
		{
			// Any other sk-…- form that carries the marker: a key type
			// OpenAI adds later is still found.
			ID: "openai-marked-key", Vendor: "openai", Prefixes: []string{"sk-"}, Body: keyChars, MinBody: 40, MaxBody: 256, Classes: 3,
			Marker: openAIMarker, MarkerSide: 16,
			TruePositives:  []string{"sk-org-{58:key}T3BlbkFJ{58:key}", "sk-{30:key}-T3BlbkFJ{20:key}"},
			FalsePositives: []string{"sk-this-is-not-a-key-but-a-long-hyphenated-identifier", "sk-a-T3BlbkFJ{58:key}", "sk-{10:alnum}T3BlbkFJ{10:alnum}"},
		},
	}
}

func anthropic() []Rule {
	// API and admin keys: 93 key characters and "AA".
	key := func(id, prefix string) Rule {
		return Rule{ID: id, Vendor: "anthropic", Prefixes: []string{prefix}, Body: keyChars, MinBody: 80, MaxBody: 120, Classes: 3,
			TruePositives:  []string{"x-api-key: " + prefix + "{93:key}AA", prefix + "{93:key}AA\n"},
			FalsePositives: []string{"ANTHROPIC_API_KEY=" + prefix + "{95*x}", prefix + "{40:alnum}", prefix + "{93*X} in the docs", prefix + "{130:key}"}}
	}
	// OAuth tokens: Anthropic publishes no length (95 characters observed),
	// so the lower bound is what a random token cannot fall below.
	oauth := func(id, prefix string) Rule {
		return Rule{ID: id, Vendor: "anthropic", Prefixes: []string{prefix}, Body: keyChars, MinBody: 40, MaxBody: 256, Classes: 3,
			TruePositives:  []string{"CLAUDE_CODE_OAUTH_TOKEN=" + prefix + "{95:key}", `{"access_token":"` + prefix + `{95:key}"}`},
			FalsePositives: []string{prefix + "tooShort", prefix + "{60:hex}"}}
	}
	return []Rule{
		key("anthropic-api-key", "sk-ant-api03-"),
		key("anthropic-admin-key", "sk-ant-admin01-"),
		oauth("anthropic-oauth-token", "sk-ant-oat01-"),
		oauth("anthropic-oauth-refresh-token", "sk-ant-ort01-"),
	}
}

func xAI() []Rule {
	// xai- and 80 characters of [0-9A-Za-z_].
	return []Rule{{
		ID: "xai-api-key", Vendor: "xai", Prefixes: []string{"xai-"}, Body: wordChars, MinBody: 40, MaxBody: 100, Classes: 3,
		TruePositives:  []string{"XAI_API_KEY=xai-{80:word}", "xai-{80:alnum}"},
		FalsePositives: []string{"model: xai-grok-4-fast-reasoning-latest-preview-2025", "xai-{120:alnum}", "xai-{30:alnum}"},
	}}
}

func aws() []Rule {
	// Access key ids: AKIA (long-term) or ASIA (STS) and 16 of [A-Z0-9].
	// Secret access keys have no prefix: see Name. The ids in AWS's
	// documentation all end in EXAMPLE: public and non-working, they fill
	// SDKs' tests and linters' samples.
	return []Rule{{
		ID: "aws-access-key-id", Vendor: "aws", Prefixes: []string{"AKIA", "ASIA"}, Body: upperDigit, MinBody: 16, MaxBody: 16,
		ExampleSuffix:  "EXAMPLE",
		TruePositives:  []string{"aws_access_key_id = AKIA{16:b32}\n", "id ASIA{16:b32} here"},
		FalsePositives: []string{"AKIA{15:b32}", "AKIA{17:b32}", "AKIA{16:lower}", "ASIAN{20:lower}"},
	}}
}

func github() []Rule {
	return []Rule{
		{
			// Classic, OAuth, user-to-server, server-to-server and refresh
			// tokens: 30 random characters and a 6-character checksum.
			ID: "github-token", Vendor: "github", Prefixes: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, Body: alnum, MinBody: 36, MaxBody: 36, Classes: 2,
			TruePositives:  []string{"token ghp_{36:alnum}", "ghs_{36:alnum}."},
			FalsePositives: []string{"ghp_shorttoken123", "ghp_{36*a}", "ghp_{40:alnum}"},
		},
		{
			// Fine-grained tokens: 22 characters, '_', 59 characters.
			ID: "github-fine-grained-token", Vendor: "github", Prefixes: []string{"github_pat_"}, Body: wordChars, MinBody: 82, MaxBody: 82, Classes: 3,
			TruePositives:  []string{"github_pat_{22:alnum}_{59:alnum}"},
			FalsePositives: []string{"github_pat_{40:alnum}", "github_pat_<your-token-here>"},
		},
	}
}

func gitlab() []Rule {
	// Personal access tokens: glpat- and 20 or more key characters.
	return []Rule{{
		ID: "gitlab-token", Vendor: "gitlab", Prefixes: []string{"glpat-"}, Body: keyChars, MinBody: 20, MaxBody: 64, Classes: 2,
		TruePositives:  []string{"GITLAB_TOKEN=glpat-{20:key}"},
		FalsePositives: []string{"glpat-{10:alnum}", "glpat-{30*z}"},
	}}
}

func google() []Rule {
	// API keys: AIza and 35 key characters.
	return []Rule{{
		ID: "google-api-key", Vendor: "google", Prefixes: []string{"AIza"}, Body: keyChars, MinBody: 35, MaxBody: 35, Classes: 2,
		TruePositives:  []string{"key=AIza{35:key}&q=1"},
		FalsePositives: []string{"AIza{20:key}", "AIzaSomething"},
	}}
}

func generic() []Rule {
	return []Rule{
		{
			ID: "jwt", Vendor: "jwt", Prefixes: []string{"eyJ"}, match: matchJWT,
			TruePositives: []string{
				"Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{80:key}.{342:key}",
				"eyJhbGciOiJub25lIn0.eyJ{20:key}.",
			},
			FalsePositives: []string{"eyJhbGciOiJIUzI1NiJ9 is a header", "eyJhbGciOiJIUzI1NiJ9.eyJ{20:key}", "eyJ{5:key}.eyJ{20:key}.{10:key}"},
		},
		{
			ID: "private-key", Vendor: "pem", Prefixes: []string{"-----BEGIN "}, match: matchPEM,
			TruePositives: []string{
				"-----BEGIN RSA PRIVATE KEY-----\n{64:b64}\n{64:b64}\n{40:b64}==\n-----END RSA PRIVATE KEY-----",
				"key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  {70:b64}\n  -----END OPENSSH PRIVATE KEY-----",
				`{"private_key":"-----BEGIN PRIVATE KEY-----\n{64:b64}\n{64:b64}\n-----END PRIVATE KEY-----\n"}`,
			},
			FalsePositives: []string{
				"-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
				"-----BEGIN PUBLIC KEY-----\n{64:b64}\n{64:b64}\n-----END PUBLIC KEY-----",
				"-----BEGIN CERTIFICATE-----\n{64:b64}\n{64:b64}\n-----END CERTIFICATE-----",
				"-----BEGIN RSA PRIVATE KEY-----",
			},
		},
	}
}
