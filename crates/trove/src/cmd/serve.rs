//! `trove serve`: the publication as a website (all the work is in trove-web).

use anyhow::Result;

use crate::cli::ServeArgs;

/// Serves until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> Result<i32> {
    if !args.mirror_of.is_empty() {
        super::mirror::start_following(
            &args.dir,
            &args.mirror_of,
            args.mirror_key.as_deref(),
            args.mirror_interval,
        )?;
    }
    let config = trove_web::Config {
        rate_limit: (args.rate_limit > 0).then_some(args.rate_limit),
        pub_rate_limit: (args.pub_rate_limit > 0).then_some(args.pub_rate_limit),
        index_dir: args.index_dir.clone(),
        ..trove_web::Config::default()
    };
    trove_web::run(&args.dir, &args.listen, config, |addr| {
        println!(
            "Serving {} at http://{addr}/ (Ctrl-C to stop)",
            args.dir.display()
        );
    })?;
    Ok(0)
}
