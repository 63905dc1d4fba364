//! A rule's condition: a CEL expression over the facts of a sign-up, compiled and checked when
//! it is saved (known variables and functions, types that fit, a true-or-false result, regular
//! expressions that compile), so that what runs at sign-up time can only be small and sound.

use cel::common::ast::{operators as op, Expr, LiteralValue, SourceInfo};
use cel::{Context, IdedExpr, Program, Value};

use super::Facts;

/// The longest condition accepted: evaluation time grows with it, so it is part of the budget.
pub const MAX_CHARS: usize = 2000;
/// The largest compiled regular expression `matches` may use (bytes of automaton).
const MAX_REGEX_BYTES: usize = 256 * 1024;

/// The variables a condition reads, all strings ("" when unknown).
pub const VARIABLES: [&str; 5] = [
    "email",
    "emailDomain",
    "authMethod",
    "oauthProvider",
    "countryCode",
];

/// The numbers a condition reads, each a field of this variable (`riskScores.bot`).
pub const RISK_SCORES: &str = "riskScores";
pub const RISK_FIELDS: [&str; 2] = ["bot", "free_trial_abuse"];

/// What is wrong with a condition, and where (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// A checked condition, ready to run.
pub struct Condition {
    program: Program,
}

impl Condition {
    /// Compiles and checks `source`.
    pub fn compile(source: &str) -> Result<Condition, Problem> {
        if source.chars().count() > MAX_CHARS {
            return Err(Problem {
                line: 1,
                column: MAX_CHARS + 1,
                message: format!("a condition may be at most {MAX_CHARS} characters long"),
            });
        }
        // The parser is not expected to panic, but a condition is user input: one that makes it
        // panic is refused like any unreadable condition, never a dropped request.
        let parsed =
            std::panic::catch_unwind(|| Program::compile(source)).map_err(|_| Problem {
                line: 1,
                column: 1,
                message: "the condition could not be read".into(),
            })?;
        let program = parsed.map_err(|errors| {
            let first = errors.errors.first();
            let (line, column) = first.map_or((1, 1), |e| (e.pos.0.max(1), e.pos.1.max(0) + 1));
            Problem {
                line: line as usize,
                column: column as usize,
                message: first.map_or_else(|| "syntax error".into(), |e| e.msg.clone()),
            }
        })?;
        let checker = Checker {
            info: program.source_info(),
            source,
        };
        let root = program.expression();
        let ty = checker.ty(root)?;
        if ty != Ty::Bool && ty != Ty::Dyn {
            return Err(checker.problem(
                root,
                format!(
                    "a condition must be true or false, but this one gives {}",
                    ty.name()
                ),
            ));
        }
        Ok(Condition { program })
    }

    /// Runs the condition over `facts`. An error (a failing function, a non-boolean result) is
    /// the caller's to log; it never decides a sign-up.
    pub fn evaluate(&self, facts: &Facts) -> Result<bool, String> {
        let mut context = Context::default();
        for (name, value) in facts.variables() {
            context.add_variable_from_value(name, value.to_string());
        }
        let risk: std::collections::HashMap<String, i64> = [
            ("bot".to_string(), facts.risk.bot as i64),
            (
                "free_trial_abuse".to_string(),
                facts.risk.free_trial_abuse as i64,
            ),
        ]
        .into();
        context.add_variable_from_value(RISK_SCORES, risk);
        let run = std::panic::AssertUnwindSafe(|| self.program.execute(&context));
        match std::panic::catch_unwind(run).map_err(|_| "the condition failed".to_string())? {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "the condition gave {other:?} instead of true or false"
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The types a condition's parts can have; `Dyn` where it is only known at run time (never, with
/// the variables all strings, but kept so that a new variable kind fails safe).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Bool,
    Int,
    Double,
    String,
    Null,
    List,
    Dyn,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Bool => "true or false",
            Ty::Int | Ty::Double => "a number",
            Ty::String => "a string",
            Ty::Null => "null",
            Ty::List => "a list",
            Ty::Dyn => "a value",
        }
    }

    fn fits(self, other: Ty) -> bool {
        self == other || self == Ty::Dyn || other == Ty::Dyn
    }
}

struct Checker<'a> {
    info: &'a SourceInfo,
    source: &'a str,
}

impl Checker<'_> {
    fn problem(&self, at: &IdedExpr, message: String) -> Problem {
        let offset = self
            .info
            .offset_for(at.id)
            .map_or(0, |(start, _)| start as usize);
        let before: String = self.source.chars().take(offset).collect();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Problem {
            line,
            column,
            message,
        }
    }

    fn ty(&self, e: &IdedExpr) -> Result<Ty, Problem> {
        match &e.expr {
            Expr::Literal(l) => match l {
                LiteralValue::Boolean(_) => Ok(Ty::Bool),
                LiteralValue::Int(_) | LiteralValue::UInt(_) => Ok(Ty::Int),
                LiteralValue::Double(_) => Ok(Ty::Double),
                LiteralValue::String(_) => Ok(Ty::String),
                LiteralValue::Null => Ok(Ty::Null),
                LiteralValue::Bytes(_) => Err(self.problem(e, "bytes are not available".into())),
            },
            Expr::Ident(name) if VARIABLES.contains(&name.as_str()) => Ok(Ty::String),
            Expr::Ident(name) if name == RISK_SCORES => Err(self.problem(
                e,
                format!(
                    "`{RISK_SCORES}` is read by its fields: {}",
                    RISK_FIELDS.map(|f| format!("{RISK_SCORES}.{f}")).join(", ")
                ),
            )),
            Expr::Ident(name) => Err(self.problem(
                e,
                format!(
                    "unknown variable `{name}`; the variables are {}, {}",
                    VARIABLES.join(", "),
                    RISK_FIELDS.map(|f| format!("{RISK_SCORES}.{f}")).join(", ")
                ),
            )),
            Expr::List(list) => {
                for item in &list.elements {
                    self.ty(item)?;
                }
                Ok(Ty::List)
            }
            Expr::Call(call) => self.call(e, &call.func_name, call.target.as_deref(), &call.args),
            Expr::Select(s)
                if matches!(&s.operand.expr, Expr::Ident(n) if n == RISK_SCORES)
                    && RISK_FIELDS.contains(&s.field.as_str()) =>
            {
                Ok(Ty::Int)
            }
            Expr::Select(s) => {
                self.ty(&s.operand)?;
                Err(self.problem(
                    e,
                    format!("`{}` has no field `{}`", describe(&s.operand), s.field),
                ))
            }
            Expr::Comprehension(_) => Err(self.problem(
                e,
                "macros such as all, exists, map and filter are not available".into(),
            )),
            Expr::Map(_) | Expr::Struct(_) | Expr::Unspecified => {
                Err(self.problem(e, "maps and messages are not available".into()))
            }
        }
    }

    fn call(
        &self,
        e: &IdedExpr,
        name: &str,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) -> Result<Ty, Problem> {
        let expect = |arg: &IdedExpr, want: Ty, what: &str| -> Result<(), Problem> {
            let got = self.ty(arg)?;
            if got.fits(want) {
                Ok(())
            } else {
                Err(self.problem(
                    arg,
                    format!("{what} needs {}, not {}", want.name(), got.name()),
                ))
            }
        };
        match (name, target, args) {
            (op::LOGICAL_AND | op::LOGICAL_OR, None, [a, b]) => {
                let what = if name == op::LOGICAL_AND { "&&" } else { "||" };
                expect(a, Ty::Bool, what)?;
                expect(b, Ty::Bool, what)?;
                Ok(Ty::Bool)
            }
            (op::LOGICAL_NOT, None, [a]) => {
                expect(a, Ty::Bool, "!")?;
                Ok(Ty::Bool)
            }
            (op::EQUALS | op::NOT_EQUALS, None, [a, b]) => {
                let (x, y) = (self.ty(a)?, self.ty(b)?);
                let numbers =
                    matches!(x, Ty::Int | Ty::Double) && matches!(y, Ty::Int | Ty::Double);
                if x.fits(y) || numbers || x == Ty::Null || y == Ty::Null {
                    Ok(Ty::Bool)
                } else {
                    Err(self.problem(b, format!("cannot compare {} with {}", x.name(), y.name())))
                }
            }
            (op::LESS | op::LESS_EQUALS | op::GREATER | op::GREATER_EQUALS, None, [a, b]) => {
                let (x, y) = (self.ty(a)?, self.ty(b)?);
                let numbers =
                    matches!(x, Ty::Int | Ty::Double) && matches!(y, Ty::Int | Ty::Double);
                if numbers || (x == Ty::String && y == Ty::String) || x == Ty::Dyn || y == Ty::Dyn {
                    Ok(Ty::Bool)
                } else {
                    Err(self.problem(b, format!("cannot order {} against {}", x.name(), y.name())))
                }
            }
            (op::IN, None, [a, b]) => {
                self.ty(a)?;
                expect(b, Ty::List, "`in`")?;
                Ok(Ty::Bool)
            }
            (op::CONDITIONAL, None, [c, a, b]) => {
                expect(c, Ty::Bool, "the condition of `? :`")?;
                let (x, y) = (self.ty(a)?, self.ty(b)?);
                if x.fits(y) {
                    Ok(if x == Ty::Dyn { y } else { x })
                } else {
                    Err(self.problem(
                        b,
                        format!(
                            "both branches of `? :` must be alike, not {} and {}",
                            x.name(),
                            y.name()
                        ),
                    ))
                }
            }
            (op::ADD, None, [a, b]) => {
                let x = self.ty(a)?;
                if !matches!(x, Ty::String | Ty::Int | Ty::Double | Ty::List | Ty::Dyn) {
                    return Err(self.problem(a, format!("cannot add {}", x.name())));
                }
                expect(b, x, "+")?;
                Ok(x)
            }
            (op::SUBSTRACT | op::MULTIPLY | op::DIVIDE | op::MODULO, None, [a, b]) => {
                let x = self.ty(a)?;
                if !matches!(x, Ty::Int | Ty::Double | Ty::Dyn) {
                    return Err(
                        self.problem(a, format!("arithmetic needs numbers, not {}", x.name()))
                    );
                }
                expect(b, x, "arithmetic")?;
                Ok(x)
            }
            (op::NEGATE, None, [a]) => {
                let x = self.ty(a)?;
                if matches!(x, Ty::Int | Ty::Double | Ty::Dyn) {
                    Ok(x)
                } else {
                    Err(self.problem(a, format!("cannot negate {}", x.name())))
                }
            }
            ("size", Some(of), []) | ("size", None, [of]) => {
                let x = self.ty(of)?;
                if matches!(x, Ty::String | Ty::List | Ty::Dyn) {
                    Ok(Ty::Int)
                } else {
                    Err(self.problem(
                        of,
                        format!("size needs a string or a list, not {}", x.name()),
                    ))
                }
            }
            ("contains" | "startsWith" | "endsWith", Some(on), [arg]) => {
                expect(on, Ty::String, name)?;
                expect(arg, Ty::String, name)?;
                Ok(Ty::Bool)
            }
            ("matches", Some(on), [arg]) => {
                expect(on, Ty::String, name)?;
                let Expr::Literal(LiteralValue::String(pattern)) = &arg.expr else {
                    return Err(self.problem(
                        arg,
                        "matches needs its regular expression written as a string literal".into(),
                    ));
                };
                regex::RegexBuilder::new(pattern.inner())
                    .size_limit(MAX_REGEX_BYTES)
                    .build()
                    .map_err(|err| {
                        self.problem(
                            arg,
                            format!("invalid regular expression: {}", one_line(&err)),
                        )
                    })?;
                Ok(Ty::Bool)
            }
            ("contains" | "startsWith" | "endsWith" | "matches" | "size", _, _) => Err(self
                .problem(
                    e,
                    format!("`{name}` is called as text.{name}(argument), with one argument"),
                )),
            _ => Err(self.problem(
                e,
                format!(
                    "`{}` is not available; conditions can use ==, !=, <, >, &&, ||, !, in, ? :, \
                     contains, startsWith, endsWith, matches and size",
                    operator_name(name)
                ),
            )),
        }
    }
}

/// An operator's name as written (`_[_]` → `[]`), or a function's.
fn operator_name(name: &str) -> String {
    match name {
        op::INDEX | op::OPT_INDEX => "[]".into(),
        op::OPT_SELECT => "?.".into(),
        _ => name.trim_matches('_').replace("_", " ").trim().to_string(),
    }
}

fn describe(e: &IdedExpr) -> String {
    match &e.expr {
        Expr::Ident(n) => n.clone(),
        Expr::Select(s) => format!("{}.{}", describe(&s.operand), s.field),
        _ => "this value".into(),
    }
}

/// The regex crate's error, which draws the pattern over several lines, in one.
fn one_line(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(_) => "the pattern is too large".into(),
        other => other
            .to_string()
            .lines()
            .filter(|l| l.starts_with("error:"))
            .map(|l| l.trim_start_matches("error:").trim().to_string())
            .next()
            .unwrap_or_else(|| other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(email: &str) -> Facts {
        Facts::new(Some(email), super::super::AuthMethod::Password, None, None)
    }

    fn problem(source: &str) -> Problem {
        Condition::compile(source).err().expect("refused")
    }

    #[test]
    fn evaluates_the_string_functions_and_lists() {
        let f = facts("Ann+x@Example.com");
        let run = |s: &str| Condition::compile(s).unwrap().evaluate(&f).unwrap();
        assert!(run(r#"email.contains("+")"#));
        assert!(run(r#"email.startsWith("ann") && email.endsWith(".com")"#));
        assert!(run(r#"emailDomain in ["other.org", "example.com"]"#));
        assert!(run(r#"email.matches("^a.n\\+")"#));
        assert!(!run(r#"authMethod == "otp" || countryCode == "US""#));
        assert!(run(r#"size(oauthProvider) == 0 && emailDomain.size() > 3"#));
    }

    #[test]
    fn reads_the_risk_scores_as_numbers() {
        let f = facts("a@b.com").with_risk(crate::users::RiskScores {
            bot: 100,
            free_trial_abuse: 50,
        });
        let run = |s: &str| Condition::compile(s).unwrap().evaluate(&f).unwrap();
        assert!(run(
            "riskScores.bot > 90 && riskScores.free_trial_abuse == 50"
        ));
        assert!(!run("riskScores.free_trial_abuse >= 51"));
        assert!(!run("riskScores.bot < 50.5"));
    }

    #[test]
    fn refuses_with_the_place_of_the_problem() {
        let p = problem("email ==");
        assert_eq!(p.line, 1);
        assert!(p.column >= 8, "{p}");
        let p = problem("emial == \"a\"");
        assert_eq!((p.line, p.column), (1, 1));
        assert!(p.message.contains("unknown variable `emial`"), "{p}");
        let p = problem("email == \"a\" &&\n  emailDomain");
        assert_eq!(p.line, 2, "{p}");
        assert!(p.message.contains("&& needs true or false"), "{p}");
        assert!(problem("emailDomain")
            .message
            .contains("must be true or false"));
        assert!(problem("email.matches(\"(a\")")
            .message
            .contains("invalid regular expression"));
        assert!(problem("email.matches(authMethod)")
            .message
            .contains("string literal"));
        assert!(problem("[1].all(x, x > 0)").message.contains("macros"));
        assert!(problem("riskScores.nope > 1")
            .message
            .contains("read by its fields"));
        assert!(problem("riskScores.bot == \"high\"")
            .message
            .contains("cannot compare"));
        assert!(problem("email == 1").message.contains("cannot compare"));
        assert!(problem("lowerAscii(email) == \"a\"")
            .message
            .contains("not available"));
        assert!(problem(&"true || ".repeat(300)).message.contains("at most"));
    }
}
