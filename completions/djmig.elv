
use builtin;
use str;

set edit:completion:arg-completer[djmig] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'djmig'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'djmig'= {
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand graph 'Print the migration graph of the work tree or of a git revision'
            cand check 'Report apps with more than one leaf migration (exit 1 when any); with --base, predict the conflicts of merging two revisions'
            cand scan 'Find pairs of branches (or any refs, like pull-request heads) that both add migrations to an app on top of the same base migration, and those the base has already added to in the same place'
            cand resolve 'Fix conflicted apps: regenerate, re-parent, or merge (last resort)'
            cand review 'Review the migrations a branch adds or changes relative to its base: deployed migrations edited, locks on large tables, lost data, irreversible steps (exit 1 on a finding at error severity)'
            cand undo 'Restore every file the last resolution changed, byte for byte'
            cand hook 'Install, remove or run djmig''s git hooks'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'djmig;graph'= {
            cand --format 'Output format'
            cand --ref 'Read the files of this git revision instead of the work tree'
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;check'= {
            cand --format 'Output format (default: github inside GitHub Actions, else text)'
            cand --base 'Compare with this revision: predict the merge of head and base'
            cand --head 'The head side of the comparison (default: the work tree)'
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;scan'= {
            cand --base 'The base revision the refs are compared against'
            cand --since 'Only refs whose commit is this recent: a day (2024-05-01), a moment (2024-05-01T12:00:00Z), a span back from now (90.days, "2 weeks ago") or @<seconds since 1970>'
            cand --format 'Output format'
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;resolve'= {
            cand --base 'The upstream revision (default: as for `check`)'
            cand --strategy 'The strategy, instead of asking'
            cand --format 'Output format of the plan and the report'
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand -y 'Take the recommended choice at every question, database steps included'
            cand --yes 'Take the recommended choice at every question, database steps included'
            cand --dry-run 'Print the plan and change nothing'
            cand --allow-dirty 'Go on although files to be changed have uncommitted changes'
            cand --no-database 'The local database does not matter: do not ask it what is applied, and do not migrate it (needed to delete or rename migrations when it cannot be asked)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;review'= {
            cand --base 'The base to compare with (default: as for `check --base`)'
            cand --head 'The head side of the comparison (default: the work tree)'
            cand --format 'Output format (default: github inside GitHub Actions, else text)'
            cand --select 'Only these rules (comma-separated ids)'
            cand --ignore 'Not these rules (comma-separated ids), besides `review.ignore` in .djmig.yml'
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --all 'Review every migration of the project in the work tree, without comparing with a base'
            cand --fix 'Rewrite what can be rewritten safely (AddIndex to AddIndexConcurrently in a non-atomic migration); shows the diff first, and `djmig undo` puts the files back'
            cand --fix-irreversible 'Also give RunPython and RunSQL without a reverse a no-op reverse (implies --fix)'
            cand --dry-run 'With --fix: print the diff and change nothing'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;undo'= {
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --dry-run 'Print what would be restored and change nothing'
            cand -y 'Take the plan without asking (database steps included)'
            cand --yes 'Take the plan without asking (database steps included)'
            cand --no-database 'Restore the files only; leave the local database as it is'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;hook'= {
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand install 'Add djmig''s block to the git hooks (existing hooks are kept)'
            cand uninstall 'Remove djmig''s block from the git hooks'
            cand run 'What the installed hooks run: a quiet check that never fails'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'djmig;hook;install'= {
            cand --hooks 'Which hooks'
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;hook;uninstall'= {
            cand --hooks 'Which hooks'
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;hook;run'= {
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;hook;help'= {
            cand install 'Add djmig''s block to the git hooks (existing hooks are kept)'
            cand uninstall 'Remove djmig''s block from the git hooks'
            cand run 'What the installed hooks run: a quiet check that never fails'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'djmig;hook;help;install'= {
        }
        &'djmig;hook;help;uninstall'= {
        }
        &'djmig;hook;help;run'= {
        }
        &'djmig;hook;help;help'= {
        }
        &'djmig;completions'= {
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;man'= {
            cand -C 'Run as if started in DIR (the project root)'
            cand --config 'Configuration file (default: .djmig.yml at the project root)'
            cand --color 'When to use colour (NO_COLOR is respected with `auto`)'
            cand --strict 'Dependencies on apps found nowhere are errors, as Django raises them'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'djmig;help'= {
            cand graph 'Print the migration graph of the work tree or of a git revision'
            cand check 'Report apps with more than one leaf migration (exit 1 when any); with --base, predict the conflicts of merging two revisions'
            cand scan 'Find pairs of branches (or any refs, like pull-request heads) that both add migrations to an app on top of the same base migration, and those the base has already added to in the same place'
            cand resolve 'Fix conflicted apps: regenerate, re-parent, or merge (last resort)'
            cand review 'Review the migrations a branch adds or changes relative to its base: deployed migrations edited, locks on large tables, lost data, irreversible steps (exit 1 on a finding at error severity)'
            cand undo 'Restore every file the last resolution changed, byte for byte'
            cand hook 'Install, remove or run djmig''s git hooks'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'djmig;help;graph'= {
        }
        &'djmig;help;check'= {
        }
        &'djmig;help;scan'= {
        }
        &'djmig;help;resolve'= {
        }
        &'djmig;help;review'= {
        }
        &'djmig;help;undo'= {
        }
        &'djmig;help;hook'= {
            cand install 'Add djmig''s block to the git hooks (existing hooks are kept)'
            cand uninstall 'Remove djmig''s block from the git hooks'
            cand run 'What the installed hooks run: a quiet check that never fails'
        }
        &'djmig;help;hook;install'= {
        }
        &'djmig;help;hook;uninstall'= {
        }
        &'djmig;help;hook;run'= {
        }
        &'djmig;help;completions'= {
        }
        &'djmig;help;man'= {
        }
        &'djmig;help;help'= {
        }
    ]
    $completions[$command]
}
