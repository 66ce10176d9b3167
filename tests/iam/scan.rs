//! Reads the AWS operations a Rust source tree calls through the AWS SDK.
//!
//! Every SDK call ends in `.send()`; the method chain before it names the operation (its first
//! method after the client) and the client it is called on, directly or through a builder held
//! in a `let` (`let mut request = self.dynamodb.update_table()…; request.send()`). The client's
//! type gives the service: `aws_sdk_<service>::Client` written out, or `Client` imported with
//! `use aws_sdk_<service>::Client`, on a field, parameter or typed `let` of the same file or of
//! a `mod.rs` above it. A call the scan cannot attribute is an error, never skipped, so a new
//! call cannot slip past the policy check unseen.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One SDK operation called in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The SDK crate's suffix: `dynamodb` for `aws_sdk_dynamodb`.
    pub service: String,
    /// The client's fluent method: `describe_table`.
    pub operation: String,
    /// What IAM must allow for it: `dynamodb:DescribeTable`.
    pub actions: Vec<String>,
    /// `src/aws/tables.rs:131`, the line of the operation's method.
    pub location: String,
}

// ---------------------------------------------------------------------------------------------
// Reading the source.

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Blanks `code[from..to]` except its newlines, so positions and line numbers stay the file's.
fn blank(code: &mut [char], from: usize, to: usize) {
    let to = to.min(code.len());
    for c in &mut code[from..to] {
        if *c != '\n' {
            *c = ' ';
        }
    }
}

/// The source with its comments and the contents of its string and character literals blanked
/// (a `.send()` in a comment or a string is no call), and any other non-ASCII character (only
/// identifiers can have one) made `x`: the code is ASCII, so its `String` indexes like it.
fn code_of(source: &str) -> Vec<char> {
    let chars: Vec<char> = source.chars().collect();
    let mut code = chars.clone();
    let at = |i: usize| chars.get(i).copied();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let before_is_ident = i > 0 && is_ident(chars[i - 1]);
        if c == '/' && at(i + 1) == Some('/') {
            let end = (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len());
            blank(&mut code, i, end);
            i = end;
        } else if c == '/' && at(i + 1) == Some('*') {
            let (mut depth, mut j) = (0usize, i);
            while j < chars.len() {
                if chars[j] == '/' && at(j + 1) == Some('*') {
                    depth += 1;
                    j += 2;
                } else if chars[j] == '*' && at(j + 1) == Some('/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut code, i, j);
            i = j;
        } else if c == 'r'
            && (!before_is_ident || (chars[i - 1] == 'b' && (i < 2 || !is_ident(chars[i - 2]))))
            && matches!(at(i + 1), Some('#' | '"'))
        {
            // A raw string: r"…", r#"…"#, br"…".
            let hashes = (i + 1..chars.len())
                .take_while(|&j| chars[j] == '#')
                .count();
            let open = i + 1 + hashes;
            if at(open) != Some('"') {
                i += 1;
                continue;
            }
            let mut j = open + 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|h| at(j + h) == Some('#')) {
                    break;
                }
                j += 1;
            }
            blank(&mut code, open + 1, j);
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut code, i + 1, j);
            i = j + 1;
        } else if c == '\'' && at(i + 1) == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{1b}'.
            let mut j = i + 3;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            blank(&mut code, i + 1, j);
            i = j + 1;
        } else if c == '\'' && at(i + 2) == Some('\'') {
            blank(&mut code, i + 1, i + 2);
            i += 3;
        } else {
            // Anything else, a lifetime's quote included.
            i += 1;
        }
    }
    for c in &mut code {
        if !c.is_ascii() {
            *c = 'x';
        }
    }
    code
}

fn line_of(code: &[char], at: usize) -> usize {
    code[..at].iter().filter(|&&c| c == '\n').count() + 1
}

/// The last index before `end` that is not blank space.
fn skip_space_back(code: &[char], end: usize) -> Option<usize> {
    (0..end).rev().find(|&j| !code[j].is_whitespace())
}

/// The start of the identifier that ends at `last` (inclusive).
fn ident_start(code: &[char], last: usize) -> usize {
    let mut start = last;
    while start > 0 && is_ident(code[start - 1]) {
        start -= 1;
    }
    start
}

/// The `(` that opens the group whose `)` is at `close`.
fn opening_paren(code: &[char], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for j in (0..=close).rev() {
        match code[j] {
            ')' | ']' => depth += 1,
            '(' | '[' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// One link of a method chain: `client`, `.describe_table()`, or a path such as
/// `aws_sdk_sqs::Client::new(&config)` heading the chain.
#[derive(Debug)]
struct Link {
    text: String,
    call: bool,
    start: usize,
}

/// The links of the chain whose `.send` has its dot at `dot`, head first.
fn chain_before(code: &[char], dot: usize) -> Result<Vec<Link>, String> {
    let mut links = Vec::new();
    let mut end = dot;
    loop {
        let mut last = skip_space_back(code, end).ok_or("the chain has no receiver")?;
        if code[last] == '?' {
            last = skip_space_back(code, last).ok_or("the chain has no receiver")?;
        }
        let (name_last, call) = if code[last] == ')' {
            let open = opening_paren(code, last).ok_or("unbalanced parentheses")?;
            (
                skip_space_back(code, open).ok_or("a call without a name")?,
                true,
            )
        } else {
            (last, false)
        };
        if !is_ident(code[name_last]) {
            return Err(format!(
                "cannot read the chain before `.send()` (found `{}`)",
                code[name_last]
            ));
        }
        let mut start = ident_start(code, name_last);
        // A path such as `aws_sdk_sqs::Client::new(..)` heads the chain.
        while start >= 2 && code[start - 1] == ':' && code[start - 2] == ':' {
            let before = skip_space_back(code, start - 2).ok_or("a path without a head")?;
            if !is_ident(code[before]) {
                break;
            }
            start = ident_start(code, before);
        }
        links.push(Link {
            text: code[start..=last].iter().collect(),
            call,
            start,
        });
        match skip_space_back(code, start) {
            Some(j) if code[j] == '.' && (j == 0 || code[j - 1] != '.') => end = j,
            _ => break,
        }
    }
    links.reverse();
    Ok(links)
}

/// Which service's client a name holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Binding {
    Service(String),
    /// Bound to clients of two services in one scope: no call on it can be attributed.
    Ambiguous,
}

/// Every `aws_sdk_<service>::Client` written in `text`, by service.
fn qualified_clients(text: &str) -> BTreeSet<String> {
    let mut services = BTreeSet::new();
    for (at, _) in text.match_indices("aws_sdk_") {
        if at > 0 && text[..at].ends_with(|c: char| is_ident(c)) {
            continue;
        }
        let rest = &text[at + "aws_sdk_".len()..];
        let service: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        let after = rest[service.len()..].trim_start();
        if let Some(tail) = after.strip_prefix("::")
            && tail.trim_start().starts_with("Client")
            && !tail.trim_start()["Client".len()..].starts_with(is_ident)
        {
            services.insert(service);
        }
    }
    services
}

/// Whether `text` has the word `Client` on its own, not as `aws_sdk_x::Client`.
fn bare_client(text: &str) -> bool {
    text.match_indices("Client").any(|(at, _)| {
        let before = text[..at].trim_end();
        let after = &text[at + "Client".len()..];
        !before.ends_with(|c: char| is_ident(c))
            && !before.ends_with("::")
            && !after.starts_with(is_ident)
    })
}

/// The service whose `Client` the file imports with `use aws_sdk_<service>::…Client…;`.
fn imported_client(code: &str) -> Option<String> {
    code.split(';')
        .map(str::trim)
        .filter_map(|statement| {
            let path = statement
                .strip_prefix("pub use ")
                .or_else(|| statement.strip_prefix("use "))?;
            let service: String = path
                .strip_prefix("aws_sdk_")?
                .chars()
                .take_while(|&c| is_ident(c))
                .collect();
            let imports_client = path
                .split(|c: char| !is_ident(c))
                .any(|word| word == "Client");
            imports_client.then_some(service)
        })
        .next()
}

/// The names bound to a client in one file: `name: Type` (a field, a parameter, a typed `let`)
/// whose type names the client of exactly one service.
fn client_bindings(code: &[char]) -> BTreeMap<String, Binding> {
    let text: String = code.iter().collect();
    let imported = imported_client(&text);
    let mut bindings: BTreeMap<String, Binding> = BTreeMap::new();
    for colon in 0..code.len() {
        let single = code[colon] == ':'
            && code.get(colon + 1) != Some(&':')
            && (colon == 0 || code[colon - 1] != ':');
        if !single {
            continue;
        }
        let Some(last) = skip_space_back(code, colon).filter(|&j| is_ident(code[j])) else {
            continue;
        };
        let name: String = code[ident_start(code, last)..=last].iter().collect();
        // The type runs to the first `,` `;` `=` `{` or closing bracket outside brackets.
        let mut depth = 0i32;
        let mut end = colon + 1;
        while end < code.len() {
            match code[end] {
                '(' | '[' | '<' => depth += 1,
                '>' if code[end - 1] == '-' => {}
                ')' | ']' | '>' if depth > 0 => depth -= 1,
                ',' | ';' | '=' | '{' | ')' | ']' | '}' | '>' if depth == 0 => break,
                _ => {}
            }
            end += 1;
        }
        let ty: String = code[colon + 1..end].iter().collect();
        let mut services = qualified_clients(&ty);
        if let Some(service) = imported.as_ref().filter(|_| bare_client(&ty)) {
            services.insert(service.clone());
        }
        let binding = match services.len() {
            0 => continue,
            1 => Binding::Service(services.into_iter().next().unwrap_or_default()),
            _ => Binding::Ambiguous,
        };
        let merged = match bindings.get(&name) {
            Some(known) if *known != binding => Binding::Ambiguous,
            _ => binding,
        };
        bindings.insert(name, merged);
    }
    bindings
}

/// `get_queue_url` → `GetQueueUrl`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The IAM service prefix of an SDK crate.
fn iam_prefix(service: &str) -> &str {
    match service {
        "applicationautoscaling" => "application-autoscaling",
        other => other,
    }
}

/// The IAM actions an operation needs. Most are the operation's name; where IAM names them
/// otherwise, the exceptions say so.
fn actions_for(service: &str, operation: &str, chain: &str) -> Result<Vec<String>, String> {
    let names = match (service, operation) {
        ("lambda", "invoke" | "invoke_with_response_stream") => vec!["InvokeFunction".into()],
        // IAM has no TransactWriteItems action: each item is authorized as the single-item
        // write it is (DynamoDB developer guide, "Using IAM with DynamoDB transactions").
        ("dynamodb", "transact_write_items") => {
            let items: Vec<String> = [
                (".condition_check(", "ConditionCheckItem"),
                (".put(", "PutItem"),
                (".update(", "UpdateItem"),
                (".delete(", "DeleteItem"),
            ]
            .iter()
            .filter(|(builder, _)| chain.contains(builder))
            .map(|(_, action)| (*action).to_string())
            .collect();
            if items.is_empty() {
                return Err(
                    "a TransactWriteItems whose items are not built in its chain: IAM \
                     authorizes each item's kind (ConditionCheckItem, PutItem, UpdateItem, \
                     DeleteItem), so build them there or map them in tests/iam.rs"
                        .into(),
                );
            }
            items
        }
        ("dynamodb", "transact_get_items") => vec!["GetItem".into()],
        _ => vec![pascal(operation)],
    };
    let prefix = iam_prefix(service);
    Ok(names
        .into_iter()
        .map(|name| format!("{prefix}:{name}"))
        .collect())
}

/// The dots of every `.send()` in the code.
fn sends(code: &[char]) -> Vec<usize> {
    let text: String = code.iter().collect();
    text.match_indices(".send")
        .map(|(at, _)| at)
        .filter(|&at| {
            let rest = &text[at + ".send".len()..];
            !rest.starts_with(is_ident) && {
                let rest = rest.trim_start();
                rest.starts_with('(') && rest[1..].trim_start().starts_with(')')
            }
        })
        .collect()
}

/// Where the statement `let [mut] name = …;` last before `before` ends (its `;`): the builder a
/// chain of one name was made by.
fn builder_end(text: &str, name: &str, before: usize) -> Option<usize> {
    let head = &text[..before];
    let at = [format!("let mut {name}"), format!("let {name}")]
        .iter()
        .filter_map(|pattern| {
            head.match_indices(pattern.as_str())
                .map(|(at, _)| at)
                .filter(|&at| !text[at + pattern.len()..].starts_with(is_ident))
                .last()
        })
        .max()?;
    let eq = at + text[at..].find('=')?;
    let mut depth = 0i32;
    for (i, c) in text[eq..].char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ';' if depth == 0 => return Some(eq + i),
            _ => {}
        }
    }
    None
}

/// The service of the client `receiver` ends in.
fn service_of(
    receiver: &[Link],
    operation: &str,
    lookup: impl Fn(&str) -> Option<Binding>,
) -> Result<String, String> {
    let written: BTreeSet<String> = receiver
        .iter()
        .flat_map(|link| qualified_clients(&link.text))
        .collect();
    if let Some(service) = written.first() {
        return Ok(service.clone());
    }
    let Some(last) = receiver.last() else {
        return Err(format!("`{operation}` has no receiver"));
    };
    if last.call {
        return Err(format!(
            "`{}` returns the client of `{operation}`: this scan cannot tell its service; call \
             the operation on a field or binding of type aws_sdk_<service>::Client",
            last.text
        ));
    }
    match lookup(&last.text) {
        Some(Binding::Service(service)) => Ok(service),
        Some(Binding::Ambiguous) => Err(format!(
            "`{}` holds clients of two services here; cannot tell which one `{operation}` is \
             called on",
            last.text
        )),
        None => Err(format!(
            "`{0}` is no client this scan knows (no `{0}: aws_sdk_<service>::Client` in this \
             file or a mod.rs above it), so `{operation}` cannot be mapped",
            last.text
        )),
    }
}

/// The call whose `.send` has its dot at `dot`.
fn call_at(
    code: &[char],
    dot: usize,
    location: impl Fn(usize) -> String,
    lookup: impl Fn(&str) -> Option<Binding>,
) -> Result<Call, String> {
    let text: String = code.iter().collect();
    let mut links = chain_before(code, dot)?;
    if let [builder] = links.as_slice()
        && !builder.call
        && let Some(end) = builder_end(&text, &builder.text, builder.start)
    {
        links = chain_before(code, end)?;
    }
    let op = (1..links.len())
        .find(|&i| links[i].call)
        .ok_or("no operation between the client and `.send()`")?;
    let operation = links[op]
        .text
        .split('(')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let service = service_of(&links[..op], &operation, lookup)?;
    let actions = actions_for(&service, &operation, &text[links[op].start..dot])?;
    Ok(Call {
        service,
        operation,
        actions,
        location: location(links[op].start),
    })
}

/// Every SDK call in `files` (path → source), or every call it could not read.
pub fn scan(files: &BTreeMap<PathBuf, String>) -> Result<Vec<Call>, Vec<String>> {
    let code: BTreeMap<&PathBuf, Vec<char>> = files.iter().map(|(p, s)| (p, code_of(s))).collect();
    let bindings: BTreeMap<&PathBuf, BTreeMap<String, Binding>> =
        code.iter().map(|(p, c)| (*p, client_bindings(c))).collect();
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    for (path, code) in &code {
        let at = |i: usize| format!("{}:{}", path.display(), line_of(code, i));
        // The file, then the mod.rs of its directory and of each one above.
        let lookup = |name: &str| {
            std::iter::once(path.to_path_buf())
                .chain(path.ancestors().skip(1).map(|dir| dir.join("mod.rs")))
                .find_map(|scope| bindings.get(&scope).and_then(|b| b.get(name)).cloned())
        };
        let text: String = code.iter().collect();
        for (i, _) in text.match_indices("wait_until_") {
            errors.push(format!(
                "{}: an SDK waiter polls an operation this scan does not map; map it in \
                 tests/iam/scan.rs",
                at(i)
            ));
        }
        for dot in sends(code) {
            match call_at(code, dot, at, lookup) {
                Ok(call) => calls.push(call),
                Err(why) => errors.push(format!("{}: {why}", at(dot))),
            }
        }
    }
    if errors.is_empty() {
        Ok(calls)
    } else {
        Err(errors)
    }
}

/// Every `.rs` file under `dir`, by path.
pub fn rust_files(dir: &Path, into: &mut BTreeMap<PathBuf, String>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            into.insert(path, source);
        }
    }
}

/// The calls of in-memory files, for the tests of the scan.
pub fn snippet(files: &[(&str, &str)]) -> Result<Vec<Call>, Vec<String>> {
    scan(
        &files
            .iter()
            .map(|(path, source)| (PathBuf::from(path), (*source).to_string()))
            .collect(),
    )
}

#[test]
fn operations_map_to_the_iam_actions_they_need() {
    let state_mod = r"
        use aws_sdk_dynamodb::Client;
        pub struct Store { client: Client, table: String }
    ";
    let state_write = r"
        impl Store {
            async fn write(&self) {
                let out = self.client.transact_write_items()
                    .transact_items(TransactWriteItem::builder().condition_check(check).build())
                    .transact_items(TransactWriteItem::builder().put(put).build())
                    .send().await;
                let read = self.client.batch_get_item().request_items(&self.table, keys).send().await;
            }
        }
    ";
    let other = r#"
        pub struct Both {
            tables: aws_sdk_dynamodb::Client,
            scaling: Option<aws_sdk_applicationautoscaling::Client>,
        }
        async fn f(both: &Both, lambda: &aws_sdk_lambda::Client, config: &SdkConfig) {
            lambda.invoke().function_name("x").customize()
                .config_override(Builder::default().retry_config(RetryConfig::disabled()))
                .send().await;
            aws_sdk_sns::Client::new(config).publish().topic_arn(t).send().await;
            let mut request = both.tables.update_table().table_name("t");
            request = request.provisioned_throughput(p);
            request.send().await;
        }
    "#;
    let calls = snippet(&[
        ("src/aws/state/mod.rs", state_mod),
        ("src/aws/state/write.rs", state_write),
        ("src/aws/other.rs", other),
    ])
    .unwrap_or_else(|e| panic!("{e:?}"));
    let found: Vec<(&str, Vec<&str>)> = calls
        .iter()
        .map(|c| {
            (
                c.location.as_str(),
                c.actions.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("src/aws/other.rs:7", vec!["lambda:InvokeFunction"]),
            ("src/aws/other.rs:10", vec!["sns:Publish"]),
            ("src/aws/other.rs:11", vec!["dynamodb:UpdateTable"]),
            (
                "src/aws/state/write.rs:4",
                vec!["dynamodb:ConditionCheckItem", "dynamodb:PutItem"]
            ),
            ("src/aws/state/write.rs:8", vec!["dynamodb:BatchGetItem"]),
        ]
    );
}

#[test]
fn a_call_the_scan_cannot_attribute_fails_it() {
    let unknown = "async fn f(thing: &Thing) { thing.describe_table().send().await; }";
    let errors = snippet(&[("src/aws/x.rs", unknown)]).expect_err("an unknown client");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("src/aws/x.rs:1:") && errors[0].contains("`thing`"),
        "{}",
        errors[0]
    );

    let ambiguous = "
        struct A { client: aws_sdk_sqs::Client }
        struct B { client: aws_sdk_sns::Client }
        async fn f(a: &A) { a.client.list_queues().send().await; }
    ";
    let errors = snippet(&[("src/aws/y.rs", ambiguous)]).expect_err("two services");
    assert!(errors[0].contains("two services"), "{errors:?}");

    let items_elsewhere = "
        struct S { client: aws_sdk_dynamodb::Client }
        async fn f(s: &S, items: Vec<TransactWriteItem>) {
            s.client.transact_write_items().set_transact_items(Some(items)).send().await;
        }
    ";
    let errors = snippet(&[("src/aws/z.rs", items_elsewhere)]).expect_err("unknown items");
    assert!(errors[0].contains("ConditionCheckItem"), "{errors:?}");
}
