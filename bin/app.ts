#!/usr/bin/env node
/**
 * The CDK app: one stack per Mimecast account, named by the `instance` context value.
 *   npx cdk deploy -c instance=acme --parameters IngestionUrl=https://siem.example.com/ingest
 * cdk-nag (AwsSolutions, v3 API) validates every synth; a finding fails the synth unless it was
 * acknowledged with a reason next to the resource it concerns.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MimecastCollectorStack } from '../lib/collector-stack';
import { INSTANCE_CONTEXT_KEY, instanceFromContext, stackNameFor } from '../lib/defaults';

const app = new App();
const { instance, warning } = instanceFromContext(app.node.tryGetContext(INSTANCE_CONTEXT_KEY));
// On stderr: cdk shows it on every command, and `cdk synth` output stays the template.
if (warning !== undefined) process.stderr.write(`${warning}\n`);

new MimecastCollectorStack(app, stackNameFor(instance), { instance });

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

app.synth();
