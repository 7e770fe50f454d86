package dev.carapace.skill.scan;

import java.util.List;

import static dev.carapace.skill.scan.LineRule.Kind.CREDENTIAL;
import static dev.carapace.skill.scan.LineRule.Kind.DOWNLOAD;
import static dev.carapace.skill.scan.LineRule.Kind.NEGATABLE;
import static dev.carapace.skill.scan.LineRule.Kind.PLAIN;
import static dev.carapace.skill.scan.LineRule.of;
import static dev.carapace.skill.scan.Severity.CRITICAL;
import static dev.carapace.skill.scan.Severity.HIGH;
import static dev.carapace.skill.scan.Severity.MEDIUM;

/**
 * The line rules, modelled on what the malicious skills found on ClawHub did (the ClawHavoc campaign's base64 dropper
 * and password-protected "prerequisites", reverse shells in scripts, credential and wallet theft, prompt injection
 * that tells the agent to hide what it does). Every repetition is bounded, so no pattern can backtrack without end;
 * {@code BoundedRegex} stops any that costs too much anyway. Each rule names the words one of which a line must hold
 * for it to match at all ({@link LineRule#when}), so most lines skip most patterns.
 */
final class Rules {

    private Rules() {}

    /** A shell or interpreter a download is piped into. */
    private static final String SHELL = "(?:sudo\\s{1,5}(?:-\\S{1,20}\\s{1,5}){0,3})?(?:/usr/bin/env\\s{1,5})?(?:/usr)?(?:/bin/)?"
            + "(?:ba|z|k|da|fi|c|tc)?sh\\b|python[0-9.]{0,4}\\b|perl\\b|ruby\\b|node\\b|php\\b|osascript\\b";

    /** A credential store or secret file, as a path or a name. */
    private static final String SECRET_PATH = "(?:~|\\$home|\\$\\{home\\}|%userprofile%|/users/[^/\\s]{1,40}|/home/[^/\\s]{1,40})?/?"
            + "(?:\\.ssh(?:/(?![\\w.-]{1,60}\\.pub\\b)|\\b(?!/))|\\.aws/(?:credentials|config)\\b|\\.config/gcloud\\b|application_default_credentials\\.json"
            + "|\\.azure/|\\.kube/config\\b|\\.docker/config\\.json|\\.netrc\\b|\\.npmrc\\b|\\.pypirc\\b|\\.git-credentials\\b"
            + "|\\.pgpass\\b|\\.gnupg\\b|\\.bash_history\\b|\\.zsh_history\\b|\\.openclaw/(?:openclaw\\.json|credentials|agents)"
            + "|\\.clawdbot\\b|auth-profiles\\.json|/etc/shadow\\b|/etc/sudoers\\b|/proc/(?:self|\\d{1,7})/environ"
            + "|(?<![\\w.$-])\\.env(?:\\.[a-z]{1,12})?\\b(?!\\.)|login\\.keychain|/keychains/|keychain-db\\b"
            + "|login data\\b|cookies\\.sqlite|logins\\.json|key[34]\\.db\\b|(?:google/chrome|chromium|bravesoftware|microsoft edge)[^\\n]{0,40}/(?:cookies|login data|local state)"
            + "|\\.mozilla/firefox|wallet\\.dat|\\bexodus/|\\belectrum/|metamask|nkbihfbeogaeaoehlefnkodbefgpgknn|solana/id\\.json|\\.bitcoin/)";

    static final List<LineRule> ALL = List.of(
            // ---- download and execute ----
            of("download-exec", CRITICAL, "\\b(?:curl|wget|fetch)\\b[^|;&\\n]{0,400}\\|\\s{0,5}(?:" + SHELL + ")",
                    "Downloads a script and pipes it straight into a shell or interpreter: whatever the server sends runs "
                            + "with the agent's rights, and can change at any time after review.", DOWNLOAD).when("curl", "wget", "fetch"),
            of("download-exec", CRITICAL, "(?:(?:ba|z|k)?sh|source|\\.)\\s{1,5}<\\(\\s{0,5}(?:curl|wget)\\b",
                    "Runs a downloaded script through process substitution: whatever the server sends runs unreviewed.", DOWNLOAD).when("<("),
            of("download-exec", CRITICAL, "(?:(?:ba|z|k)?sh|eval)\\s{1,5}(?:-c\\s{1,5})?[\"']?\\$\\(\\s{0,5}(?:curl|wget)\\b",
                    "Runs the output of a download as a command: whatever the server sends runs unreviewed.", DOWNLOAD).when("$("),
            of("download-exec", CRITICAL, "\\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|downloadstring|new-object\\s{1,5}(?:system\\.)?net\\.webclient)\\b"
                            + "[^\\n]{0,400}(?:\\|\\s{0,5}iex\\b|invoke-expression)",
                    "PowerShell downloads code and runs it with Invoke-Expression: whatever the server sends runs unreviewed.", DOWNLOAD).when("iwr", "irm", "invoke-", "downloadstring", "webclient"),
            of("download-exec", CRITICAL, "\\biex\\s{0,5}\\(\\s{0,5}(?:new-object|iwr|irm|invoke-webrequest|invoke-restmethod)",
                    "PowerShell runs downloaded code with Invoke-Expression.", DOWNLOAD).when("iex"),
            of("download-exec", HIGH, "\\bxattr\\s{1,5}(?:-[a-z]{1,4}\\s{1,5}){0,3}(?:-c\\b|-d\\s{1,5}com\\.apple\\.quarantine|[^\\n]{0,80}com\\.apple\\.quarantine)",
                    "Strips macOS's quarantine flag so Gatekeeper will not check a downloaded program: how the AMOS stealer "
                            + "skills got their binaries to run.", PLAIN).when("xattr"),
            of("download-exec", HIGH, "\\bspctl\\s{1,5}--master-disable\\b",
                    "Turns off Gatekeeper for the whole machine.", PLAIN).when("spctl"),
            of("download-exec", HIGH, "\\b(?:curl|wget)\\b[^\\n]{0,300}(?:-o|-O|--output)\\s{0,5}\\S{1,200}[^\\n]{0,100}(?:&&|;)\\s{0,5}(?:sudo\\s{1,5})?chmod\\s{1,5}(?:[ugoa]{0,3}\\+x|[0-7]{0,1}7[0-7]{2})\\b",
                    "Downloads a file and makes it executable: a program no reviewer has seen will run.", DOWNLOAD).when("curl", "wget"),
            of("download-exec", HIGH, "\\bos\\.system\\s{0,5}\\(\\s{0,5}[\"'][^\"'\\n]{0,300}\\b(?:curl|wget)\\b",
                    "A script shells out to download something at run time.", DOWNLOAD).when("os.system"),

            // ---- archives with passwords, the ClawHavoc "prerequisite" ----
            of("password-archive", HIGH, "\\b(?:extract|unzip|unpack|open|archive|zip|7z|rar)\\b[^\\n]{0,80}\\b(?:pass(?:word)?|pwd|pw)\\b\\s{0,3}[:=(`\"']",
                    "Tells the user to extract a password-protected archive: the password keeps antivirus and registries "
                            + "from scanning the payload (the ClawHavoc skills shipped the AMOS stealer this way).", PLAIN).when("pass", "pw"),
            of("password-archive", HIGH, "\\b(?:archive|zip)\\s{0,5}password\\b",
                    "Names the password of a downloadable archive: the ClawHavoc pattern for smuggling a payload past scanners.", PLAIN).when("password"),

            // ---- reverse shells ----
            of("reverse-shell", CRITICAL, "/dev/(?:tcp|udp)/",
                    "Opens a raw TCP/UDP socket from the shell: the usual reverse shell, giving a remote host a shell on this machine.", PLAIN).when("/dev/"),
            of("reverse-shell", CRITICAL, "\\bn(?:c|cat|etcat)\\b[^\\n|;]{0,120}\\s-[a-z]{0,4}[ec]\\s{1,5}\\S",
                    "netcat with -e/-c hands a shell to the remote end.", PLAIN).when("nc", "netcat"),
            of("reverse-shell", CRITICAL, "\\b(?:ba|z)?sh\\s{1,5}-i\\s{0,5}[>&]{1,2}",
                    "An interactive shell with its input and output redirected: a reverse shell.", PLAIN).when("-i"),
            of("reverse-shell", CRITICAL, "\\bmkfifo\\b[^\\n]{0,200}\\bnc\\b",
                    "A named pipe wired to netcat: a reverse shell.", PLAIN).when("mkfifo"),
            of("reverse-shell", CRITICAL, "\\bpty\\.spawn\\s{0,5}\\(|socket\\.socket\\([^\\n]{0,200}(?:subprocess|os\\.dup2)",
                    "Python wiring a socket to a shell: a reverse shell.", PLAIN).when("pty.spawn", "socket.socket"),

            // ---- credentials and the environment ----
            of("credential-read", HIGH, SECRET_PATH,
                    "Reads a credential store (SSH keys, cloud credentials, .env files, the keychain, browser cookies and "
                            + "saved passwords, crypto wallets, the agent's own config): what infostealer skills go for.", CREDENTIAL).when(".ssh", ".aws", "gcloud", "application_default", ".azure", ".kube", ".docker", ".netrc", ".npmrc", ".pypirc", ".git-credentials", ".pgpass", ".gnupg", "_history", ".openclaw", ".clawdbot", "auth-profiles", "/etc/", "environ", ".env", "keychain", "login data", "cookies", "logins.json", ".db", "local state", ".mozilla", "wallet", "exodus", "electrum", "metamask", "nkbihf", "solana", ".bitcoin"),
            of("credential-read", HIGH, "\\bsecurity\\s{1,5}(?:find-generic-password|find-internet-password|dump-keychain|export)\\b",
                    "Reads secrets out of the macOS keychain.", PLAIN).when("security"),
            of("env-dump", HIGH, "(?:^|[;&|(]|\\$\\(|(?<!`)`)\\s{0,5}(?:env|printenv|export\\s{1,5}-p)\\s{0,5}(?:$|[>;&)]|`(?!`)|\\|(?!\\s{0,5}(?:grep|head|sort|wc|less)\\b))",
                    "Dumps every environment variable, which holds the agent's API keys and tokens.", PLAIN).when("env", "export"),
            of("env-dump", HIGH, "json\\.stringify\\s{0,5}\\(\\s{0,5}process\\.env\\s{0,5}[,)]|object\\.(?:keys|entries|values|assign)\\s{0,5}\\(\\s{0,5}(?:\\{\\}\\s{0,5},\\s{0,5})?process\\.env\\s{0,5}\\)",
                    "Serialises the whole process environment (every API key and token in it).", PLAIN).when("process.env"),
            of("env-dump", HIGH, "(?:dict|json\\.dumps|str|repr)\\s{0,5}\\(\\s{0,5}(?:dict\\s{0,5}\\(\\s{0,5})?os\\.environ\\b|os\\.environ\\.(?:items|copy)\\s{0,5}\\(\\s{0,5}\\)",
                    "Serialises the whole process environment (every API key and token in it).", PLAIN).when("os.environ"),
            of("env-dump", HIGH, "\\b(?:get-childitem|gci|ls|dir)\\s{1,5}env:|getenvironmentvariables\\s{0,5}\\(|system\\.getenv\\s{0,5}\\(\\s{0,5}\\)",
                    "Lists every environment variable (every API key and token in it).", PLAIN).when("env:", "getenvironmentvariables", "getenv"),

            // ---- obfuscated or encoded payloads ----
            of("encoded-payload", CRITICAL, "\\bbase(?:64|32)\\s{1,5}(?:-d|-D|--decode|-di)\\b[^\\n]{0,200}\\|\\s{0,5}(?:" + SHELL + ")",
                    "Decodes a hidden payload and runs it: the ClawHavoc dropper (base64 | bash).", PLAIN).when("base64", "base32"),
            of("encoded-payload", CRITICAL, "\\bxxd\\s{1,5}-r[^\\n]{0,200}\\|\\s{0,5}(?:" + SHELL + ")",
                    "Decodes a hex payload and runs it.", PLAIN).when("xxd"),
            of("encoded-payload", CRITICAL, "\\beval\\s{1,5}[\"']?\\$\\(\\s{0,5}(?:echo|printf)\\b[^\\n]{0,300}\\b(?:base64|base32|xxd|openssl\\s{1,5}enc|rev)\\b",
                    "Evaluates a decoded string as shell code.", PLAIN).when("eval"),
            of("encoded-payload", HIGH, "\\b(?:eval|exec)\\s{0,5}\\(\\s{0,5}(?:atob|base64\\.b64decode|b64decode|buffer\\.from|codecs\\.decode|zlib\\.decompress|bytes\\.fromhex|binascii\\.unhexlify|unhexlify|decodeuricomponent|string\\.fromcharcode|__import__\\s{0,5}\\(\\s{0,5}[\"'](?:base64|zlib|codecs))",
                    "Evaluates a decoded string as code: the code that runs is not the code a reviewer reads.", PLAIN).when("eval", "exec"),
            of("encoded-payload", HIGH, "\\bnew\\s{1,5}function\\s{0,5}\\(\\s{0,5}(?:atob|buffer\\.from|decodeuricomponent)",
                    "Builds a function from a decoded string: the code that runs is not the code a reviewer reads.", PLAIN).when("function"),
            of("encoded-payload", HIGH, "\\bpowershell(?:\\.exe)?\\b[^\\n]{0,100}\\s-(?:e|en|enc|encodedcommand)\\s{1,5}[a-z0-9+/=]{16,}",
                    "Runs an encoded PowerShell command: what it does is hidden from review.", PLAIN).when("powershell"),
            of("encoded-payload", MEDIUM, "\\b(?:marshal|pickle)\\.loads?\\s{0,5}\\(",
                    "Loads serialised Python objects, which can run code on load.", PLAIN).when("marshal", "pickle"),

            // ---- instructions to disable safety ----
            of("disable-safety", HIGH, "\\b(?:ignore|disregard|forget|override)\\s{1,5}(?:all\\s{1,5}|any\\s{1,5}|every\\s{1,5}|of\\s{1,5})?(?:the\\s{1,5}|your\\s{1,5}|my\\s{1,5}|these\\s{1,5})?"
                            + "(?:previous|prior|above|earlier|preceding|original|system|safety|existing)\\s{1,5}(?:instructions|prompts?|rules|directions|guidelines|messages|constraints)",
                    "Prompt injection: tells the model to drop the instructions it was given.", NEGATABLE).when("ignore", "disregard", "forget", "override"),
            of("disable-safety", HIGH, "\\bforget\\s{1,5}everything\\s{1,5}(?:above|before|you\\s{1,5}were\\s{1,5}told)",
                    "Prompt injection: tells the model to drop the instructions it was given.", NEGATABLE).when("forget"),
            of("disable-safety", HIGH, "\\b(?:disable|turn\\s{1,5}off|switch\\s{1,5}off|bypass|circumvent|deactivate|get\\s{1,5}around|evade|skip|kill)\\s{1,5}(?:the\\s{1,5}|your\\s{1,5}|any\\s{1,5}|all\\s{1,5}|carapace'?s?\\s{1,5})?"
                            + "(?:carapace\\s{1,5})?(?:sandbox(?:ing)?|guard(?:rails?)?|safety\\s{1,5}(?:checks?|filters?|rules)|security\\s{1,5}(?:checks?|controls?|policy|software)|approval(?:s|\\s{1,5}prompts?)?|egress\\s{1,5}(?:proxy|policy|rules)|firewall|antivirus|anti-virus|gatekeeper|xprotect|(?:windows\\s{1,5})?defender|audit(?:\\s{1,5}log(?:ging)?)?|content\\s{1,5}filter)\\b",
                    "Tells the agent to switch off a safety control (the sandbox, the guard, approvals, antivirus).", NEGATABLE).when("disable", "turn", "switch", "bypass", "circumvent", "deactivate", "around", "evade", "skip", "kill"),
            of("disable-safety", HIGH, "\\b(?:do\\s{1,5}not|don'?t|never)\\s{1,5}(?:tell|inform|notify|alert|mention\\s{1,5}(?:this\\s{1,5}|it\\s{1,5}|anything\\s{1,5})?to|reveal\\s{1,5}(?:this\\s{1,5}|it\\s{1,5})?to|let)\\s{1,5}(?:the\\s{1,5}|your\\s{1,5})?(?:user|human|operator|owner|person)\\b",
                    "Tells the agent to hide what it does from its user.", PLAIN).when("not", "don", "never"),
            of("disable-safety", HIGH, "\\bwithout\\s{1,5}(?:telling|informing|notifying|alerting|asking|showing)\\s{1,5}(?:the\\s{1,5}|your\\s{1,5})?(?:user|human|operator|owner)\\b",
                    "Tells the agent to act behind its user's back.", NEGATABLE).when("without"),
            of("disable-safety", HIGH, "\\b(?:silently|quietly|secretly|covertly|discreetly|in\\s{1,5}the\\s{1,5}background,?\\s{1,5}without\\s{1,5}output,?)\\s{1,5}(?:send|upload|post|exfiltrate|forward|copy|transmit|sync|install|download|collect|grab)\\b",
                    "Tells the agent to move data or install something without the user seeing it.", NEGATABLE).when("silently", "quietly", "secretly", "covertly", "discreetly", "background"),
            of("disable-safety", HIGH, "\\b(?:write|append|add|insert|overwrite|modify|edit|update|replace)\\b[^\\n]{0,60}\\b(?:soul|agents|identity|heartbeat|memory|user|tools)\\.md\\b",
                    "Rewrites the agent's own standing instructions (SOUL.md, AGENTS.md, MEMORY.md, ...): a way to persist an injection.", NEGATABLE).when(".md"),
            of("disable-safety", MEDIUM, "--dangerously-skip-permissions|--dangerously-bypass-approvals-and-sandbox|--permission-mode[ =]{1,3}bypasspermissions|--yolo\\b|--full-auto\\b",
                    "Starts another agent with its permission prompts or sandbox turned off.", NEGATABLE).when("--dangerously", "--permission-mode", "--yolo", "--full-auto"),
            of("disable-safety", MEDIUM, "\\byou\\s{1,5}are\\s{1,5}now\\s{1,5}(?:in\\s{1,5})?(?:dan|developer\\s{1,5}mode|jailbroken|unrestricted|an?\\s{1,5}unrestricted)|\\byour\\s{1,5}new\\s{1,5}(?:instructions|role|purpose|rules)\\b",
                    "Prompt injection: tries to give the model a new role or rules.", NEGATABLE).when("you"),
            of("social-engineering", MEDIUM, "\\b(?:copy|paste)\\s{1,5}(?:and|&)\\s{1,5}(?:run|execute|paste)\\b[^\\n]{0,40}\\bterminal\\b",
                    "Asks the user to paste a command into their terminal: the ClawHavoc \"prerequisite\" pitch.", PLAIN).when("copy", "paste"),

            // ---- persistence ----
            of("persistence", MEDIUM, "\\|\\s{0,5}crontab\\s{1,5}-\\s{0,5}(?:$|[;&)])|\\bcrontab\\s{1,5}(?!-l\\b)(?!-e\\b)\\S{1,200}\\.(?:txt|cron|tmp)\\b",
                    "Installs a cron job: code that keeps running after the skill is gone.", PLAIN).when("crontab"),
            of("persistence", MEDIUM, "library/launch(?:agents|daemons)/|\\blaunchctl\\s{1,5}(?:load|bootstrap|submit)\\b",
                    "Installs a macOS launch agent: code that starts at every login.", PLAIN).when("launch"),
            of("persistence", MEDIUM, ">>?\\s{0,5}[\"']?(?:~|\\$home|\\$\\{home\\})/\\.(?:bashrc|zshrc|bash_profile|profile|zprofile|zshenv|config/fish/config\\.fish)\\b",
                    "Writes into the user's shell start-up file: code that runs in every new shell.", PLAIN).when(">"),
            of("persistence", MEDIUM, "\\bsystemctl\\s{1,5}--user\\s{1,5}(?:enable|start)\\b|/etc/systemd/system/[^\\s]{1,80}\\.service|\\bschtasks\\s{1,5}/create\\b|currentversion\\\\run\\b",
                    "Installs a service or scheduled task: code that keeps running after the skill is gone.", PLAIN).when("systemctl", "systemd", "schtasks", "currentversion"));
}
