/**
 * JSON-safe task arguments and results, checked at compile time. Tasks travel as JSON, so a value
 * JSON cannot carry would arrive changed (a Date as a string, a Map as {}, undefined as null) or
 * fail at send (a bigint): a handler taking or returning one is a compile error that names it.
 */

/** A value JSON carries unchanged. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

type Depth = readonly unknown[];

/** What is wrong with `T` as JSON, as a sentence; `never` when nothing is. Stops after 8 levels (recursive types). */
export type JsonProblem<T, D extends Depth = []> = D['length'] extends 8
  ? never
  : 0 extends 1 & T
    ? never // any: unchecked by choice
    : unknown extends T
      ? never // unknown: the handler checks at run time
      : T extends string | number | boolean | null
        ? never
        : T extends undefined
          ? 'undefined (it arrives as null, or the key is dropped): use null or an optional property'
          : T extends bigint
            ? 'a bigint (JSON cannot hold it and send throws): send it as a string'
            : T extends symbol
              ? 'a symbol (JSON cannot hold it)'
              : T extends Date
                ? 'a Date (it arrives as an ISO string): send date.toISOString() and take a string'
                : T extends ReadonlyMap<unknown, unknown>
                  ? 'a Map (it arrives as {}): send Object.fromEntries(map) or [...map]'
                  : T extends ReadonlySet<unknown>
                    ? 'a Set (it arrives as {}): send [...set]'
                    : T extends (...args: never[]) => unknown
                      ? 'a function (JSON cannot hold it)'
                      : T extends ArrayBuffer | ArrayBufferView
                        ? 'binary data (it arrives as {} or an object of numbers): send base64 text'
                        : T extends RegExp
                          ? 'a RegExp (it arrives as {}): send its source'
                          : T extends readonly unknown[]
                            ? JsonProblem<T[number], [...D, 0]>
                            : T extends object
                              ? { [K in keyof T]-?: PropertyProblem<T, K, [...D, 0]> }[keyof T]
                              : 'not a JSON value';

/** An optional property may be missing (JSON drops an undefined one, which reads the same). */
type PropertyProblem<T, K extends keyof T, D extends Depth> = K extends symbol
  ? never
  : object extends Pick<T, K>
    ? JsonProblem<Exclude<T[K], undefined>, D>
    : JsonProblem<T[K], D>;

/** Problems of a handler's parameters: optional parameters may be left out. */
type ArgsProblem<A extends readonly unknown[]> = {
  [K in keyof A]-?: object extends Pick<A, K> ? JsonProblem<Exclude<A[K], undefined>> : JsonProblem<A[K]>;
}[number];

/**
 * `unknown` when the handler's arguments and result are JSON-safe; otherwise an object type whose
 * one property names the problem, which shows in the compiler's error at `errand.task(...)`.
 */
export type JsonChecked<A extends readonly unknown[], R> = [ArgsProblem<A>] extends [never]
  ? [JsonProblem<ResultValue<R>>] extends [never]
    ? unknown
    : { readonly 'task results must be JSON: the handler returns': JsonProblem<ResultValue<R>> }
  : { readonly 'task arguments must be JSON: a parameter is': ArgsProblem<A> };

/** What a handler's result holds; returning nothing (stored as null) is fine. */
// biome-ignore lint/suspicious/noConfusingVoidType: void is what a handler without a result returns
type ResultValue<R> = Exclude<Awaited<R>, void | undefined>;
