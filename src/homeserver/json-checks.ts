/**
 * Narrowing parsed JSON request bodies without trusting them.
 *
 * Runtime: node (homeserver only).
 *
 * Every field a handler reads goes through one of these checks, so a wrong type becomes a 400 with a message
 * naming the field, never a TypeError deep in a handler (which would be a 500).
 */
import { badJson, missingParam } from './errors';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request body as an object; an empty body counts as `{}`. */
export function objectBody(body: unknown): JsonObject {
  if (body === undefined) return {};
  if (!isJsonObject(body)) throw badJson('request body must be a JSON object');
  return body;
}

export function optionalString(obj: JsonObject, key: string): string | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badJson(`"${key}" must be a string`);
  return value;
}

export function requiredString(obj: JsonObject, key: string): string {
  const value = optionalString(obj, key);
  if (value === undefined) throw missingParam(`"${key}" is required`);
  return value;
}

export function optionalBoolean(obj: JsonObject, key: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badJson(`"${key}" must be a boolean`);
  return value;
}

export function optionalObject(obj: JsonObject, key: string): JsonObject | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw badJson(`"${key}" must be an object`);
  return value;
}

export function optionalStringArray(obj: JsonObject, key: string): string[] | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw badJson(`"${key}" must be an array of strings`);
  }
  return value as string[];
}

/** Size of a value as the UTF-8 JSON a federating server would count (Synapse's 65536-byte content limit). */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
