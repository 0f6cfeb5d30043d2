/**
 * The base job: services started before `run()` and stopped after it, also
 * when it fails (the seed's `with job as runner: runner.run()`).
 *
 * ```ts
 * const job = new ExplanationsJob(config);
 * const out = await job.execute(); // start() → run() → stop(), stop in a finally
 * ```
 */
import winston from 'winston';

/**
 * Something with a lifecycle around a job run (the job's logger: flushed and
 * closed at stop). Both methods are optional.
 */
export interface Service {
  start?(): unknown;
  stop?(): unknown;
}

/** A logger that writes nothing (before `start()`, and after `stop()`). */
function silentLogger(): winston.Logger {
  return winston.createLogger({ silent: true });
}

/**
 * A job: `start()` its services, `run()` its steps, `stop()` its services.
 * Subclasses build their services in {@link Job.createServices} and implement
 * {@link Job.run}; callers use {@link Job.execute}.
 */
export abstract class Job<Output> {
  /** The job's logger (silent until started). */
  logger: winston.Logger = silentLogger();
  /** Whether the services are started. */
  started = false;
  private services: Service[] = [];

  /** Builds (not starts) the services, the logger first. */
  protected abstract createServices(): Promise<Service[]> | Service[];

  /** The job's steps. Services are started when it is called. */
  abstract run(): Promise<Output>;

  /** Starts the services, in order. On a failure, those already started are stopped. */
  async start(): Promise<this> {
    if (this.started) return this;
    const services = await this.createServices();
    const started: Service[] = [];
    try {
      for (const s of services) {
        await s.start?.();
        started.push(s);
      }
    } catch (err) {
      await stopAll(started.reverse(), this.logger);
      throw err;
    }
    this.services = services;
    this.started = true;
    return this;
  }

  /** Stops the services in reverse order; a failing stop is logged, never thrown. */
  async stop(): Promise<void> {
    if (!this.started) return;
    const services = [...this.services].reverse();
    this.services = [];
    this.started = false;
    await stopAll(services, this.logger);
    this.logger = silentLogger();
  }

  /** `start()`, `run()`, and `stop()` in a `finally`: services are stopped on failure too. */
  async execute(): Promise<Output> {
    await this.start();
    try {
      return await this.run();
    } finally {
      await this.stop();
    }
  }
}

async function stopAll(services: Service[], logger: winston.Logger): Promise<void> {
  for (const s of services) {
    try {
      await s.stop?.();
    } catch (err) {
      logger.warn(`stopping a service failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
