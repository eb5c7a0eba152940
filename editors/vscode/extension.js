// Starts `chartcoder lsp` for plain-text and markdown notes (see docs/editors.md).
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration('chartcoder');
  const args = ['lsp'];
  if (config.get('server')) args.push('--server', config.get('server'));
  if (config.get('feedbackDb')) args.push('--feedback-db', config.get('feedbackDb'));
  const serverOptions = {
    command: config.get('path') || 'chartcoder',
    args,
    options: { cwd: config.get('home') || undefined },
  };
  const clientOptions = {
    documentSelector: [{ language: 'plaintext' }, { language: 'markdown' }],
    initializationOptions: { coder: config.get('coder'), codesHeading: config.get('codesHeading') },
  };
  client = new LanguageClient('chartcoder', 'chartcoder', serverOptions, clientOptions);
  // The server's listing, as JSON beside the note.
  context.subscriptions.push(vscode.commands.registerCommand('chartcoder.showSuggestions', async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const listing = await client.sendRequest('workspace/executeCommand', {
      command: 'chartcoder.listSuggestions',
      arguments: [editor.document.uri.toString()],
    });
    const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(listing, null, 2) });
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }));
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
