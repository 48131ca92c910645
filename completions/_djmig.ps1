
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'djmig' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'djmig'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'djmig' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'Print the migration graph of the work tree or of a git revision')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Report apps with more than one leaf migration (exit 1 when any); with --base, predict the conflicts of merging two revisions')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Find pairs of branches (or any refs, like pull-request heads) that both add migrations to an app on top of the same base migration, and those the base has already added to in the same place')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Fix conflicted apps: regenerate, re-parent, or merge (last resort)')
            [CompletionResult]::new('review', 'review', [CompletionResultType]::ParameterValue, 'Review the migrations a branch adds or changes relative to its base: deployed migrations edited, locks on large tables, lost data, irreversible steps (exit 1 on a finding at error severity)')
            [CompletionResult]::new('undo', 'undo', [CompletionResultType]::ParameterValue, 'Restore every file the last resolution changed, byte for byte')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Install, remove or run djmig''s git hooks')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'djmig;graph' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the files of this git revision instead of the work tree')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;check' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (default: github inside GitHub Actions, else text)')
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'Compare with this revision: predict the merge of head and base')
            [CompletionResult]::new('--head', '--head', [CompletionResultType]::ParameterName, 'The head side of the comparison (default: the work tree)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;scan' {
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'The base revision the refs are compared against')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only refs whose commit is this recent: a day (2024-05-01), a moment (2024-05-01T12:00:00Z), a span back from now (90.days, "2 weeks ago") or @<seconds since 1970>')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;resolve' {
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'The upstream revision (default: as for `check`)')
            [CompletionResult]::new('--strategy', '--strategy', [CompletionResultType]::ParameterName, 'The strategy, instead of asking')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format of the plan and the report')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Take the recommended choice at every question, database steps included')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Take the recommended choice at every question, database steps included')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and change nothing')
            [CompletionResult]::new('--allow-dirty', '--allow-dirty', [CompletionResultType]::ParameterName, 'Go on although files to be changed have uncommitted changes')
            [CompletionResult]::new('--no-database', '--no-database', [CompletionResultType]::ParameterName, 'The local database does not matter: do not ask it what is applied, and do not migrate it (needed to delete or rename migrations when it cannot be asked)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;review' {
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'The base to compare with (default: as for `check --base`)')
            [CompletionResult]::new('--head', '--head', [CompletionResultType]::ParameterName, 'The head side of the comparison (default: the work tree)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (default: github inside GitHub Actions, else text)')
            [CompletionResult]::new('--select', '--select', [CompletionResultType]::ParameterName, 'Only these rules (comma-separated ids)')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Not these rules (comma-separated ids), besides `review.ignore` in .djmig.yml')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Review every migration of the project in the work tree, without comparing with a base')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Rewrite what can be rewritten safely (AddIndex to AddIndexConcurrently in a non-atomic migration); shows the diff first, and `djmig undo` puts the files back')
            [CompletionResult]::new('--fix-irreversible', '--fix-irreversible', [CompletionResultType]::ParameterName, 'Also give RunPython and RunSQL without a reverse a no-op reverse (implies --fix)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --fix: print the diff and change nothing')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;undo' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be restored and change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Take the plan without asking (database steps included)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Take the plan without asking (database steps included)')
            [CompletionResult]::new('--no-database', '--no-database', [CompletionResultType]::ParameterName, 'Restore the files only; leave the local database as it is')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;hook' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Add djmig''s block to the git hooks (existing hooks are kept)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove djmig''s block from the git hooks')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'What the installed hooks run: a quiet check that never fails')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'djmig;hook;install' {
            [CompletionResult]::new('--hooks', '--hooks', [CompletionResultType]::ParameterName, 'Which hooks')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;hook;uninstall' {
            [CompletionResult]::new('--hooks', '--hooks', [CompletionResultType]::ParameterName, 'Which hooks')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;hook;run' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;hook;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Add djmig''s block to the git hooks (existing hooks are kept)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove djmig''s block from the git hooks')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'What the installed hooks run: a quiet check that never fails')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'djmig;hook;help;install' {
            break
        }
        'djmig;hook;help;uninstall' {
            break
        }
        'djmig;hook;help;run' {
            break
        }
        'djmig;hook;help;help' {
            break
        }
        'djmig;completions' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;man' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR (the project root)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: .djmig.yml at the project root)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Dependencies on apps found nowhere are errors, as Django raises them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'djmig;help' {
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'Print the migration graph of the work tree or of a git revision')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Report apps with more than one leaf migration (exit 1 when any); with --base, predict the conflicts of merging two revisions')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Find pairs of branches (or any refs, like pull-request heads) that both add migrations to an app on top of the same base migration, and those the base has already added to in the same place')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Fix conflicted apps: regenerate, re-parent, or merge (last resort)')
            [CompletionResult]::new('review', 'review', [CompletionResultType]::ParameterValue, 'Review the migrations a branch adds or changes relative to its base: deployed migrations edited, locks on large tables, lost data, irreversible steps (exit 1 on a finding at error severity)')
            [CompletionResult]::new('undo', 'undo', [CompletionResultType]::ParameterValue, 'Restore every file the last resolution changed, byte for byte')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Install, remove or run djmig''s git hooks')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'djmig;help;graph' {
            break
        }
        'djmig;help;check' {
            break
        }
        'djmig;help;scan' {
            break
        }
        'djmig;help;resolve' {
            break
        }
        'djmig;help;review' {
            break
        }
        'djmig;help;undo' {
            break
        }
        'djmig;help;hook' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Add djmig''s block to the git hooks (existing hooks are kept)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Remove djmig''s block from the git hooks')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'What the installed hooks run: a quiet check that never fails')
            break
        }
        'djmig;help;hook;install' {
            break
        }
        'djmig;help;hook;uninstall' {
            break
        }
        'djmig;help;hook;run' {
            break
        }
        'djmig;help;completions' {
            break
        }
        'djmig;help;man' {
            break
        }
        'djmig;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
